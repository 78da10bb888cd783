package natsconn_test

import (
	"bufio"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/nats-io/nats.go"
)

// TestConnect: a service's connection returns at once while no server answers, keeps trying
// forever, and takes the service's own options after natsconn's.
func TestConnect(t *testing.T) {
	nc, err := natsconn.Connect(unreachable(t), natsconn.Config{}, "test", "ingest", slog.New(slog.DiscardHandler),
		nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatalf("Connect() with no server = %v, want the first connection retried in the background", err)
	}
	t.Cleanup(nc.Close)
	if nc.IsConnected() {
		t.Fatal("connected to a port where nothing listens")
	}
	o := nc.Opts
	if !o.RetryOnFailedConnect || !o.AllowReconnect || o.MaxReconnect != -1 || o.ReconnectWait != natsconn.ReconnectWait {
		t.Errorf("retry %v, reconnect %v, max %d, wait %s; want the first connection retried and reconnects forever every %s",
			o.RetryOnFailedConnect, o.AllowReconnect, o.MaxReconnect, o.ReconnectWait, natsconn.ReconnectWait)
	}
	if o.ReconnectBufSize != -1 || o.Name != "test" || o.InboxPrefix != "_INBOX_ingest" {
		t.Errorf("buffer %d, name %q, inbox %q: the program's options or natsconn's were lost", o.ReconnectBufSize, o.Name, o.InboxPrefix)
	}
}

func TestConnectErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := natsconn.ConnectOnce(unreachable(t), natsconn.Config{}, "test", "ops", log, nats.Timeout(time.Second)); err == nil ||
		!strings.HasPrefix(err.Error(), "NATS_URL: ") {
		t.Errorf("ConnectOnce() with no server = %v, want an error at once naming NATS_URL", err)
	}
	for _, connect := range []func(string, natsconn.Config, string, string, *slog.Logger, ...nats.Option) (*nats.Conn, error){
		natsconn.Connect, natsconn.ConnectOnce,
	} {
		_, err := connect(unreachable(t), natsconn.Config{NATSPassword: secret}, "test", "ops", log)
		if err == nil || !strings.HasPrefix(err.Error(), "configuration: ") || strings.Contains(err.Error(), secret) {
			t.Errorf("connect with NATS_PASSWORD alone = %v, want a configuration error, without the password", err)
		}
	}
}

func TestDrain(t *testing.T) {
	t.Run("closes the connection", func(t *testing.T) {
		nc := connectFake(t, fakeServer(t, -1))
		if err := natsconn.Drain(nc, 10*time.Second); err != nil {
			t.Fatalf("Drain() = %v", err)
		}
		if !nc.IsClosed() {
			t.Error("Drain() returned before the connection closed")
		}
	})
	t.Run("gives up after timeout", func(t *testing.T) {
		// The server answers the connection's PING, then no other: the drain's flush never ends.
		nc := connectFake(t, fakeServer(t, 1))
		if err := natsconn.Drain(nc, 50*time.Millisecond); err == nil {
			t.Fatal("Drain() = nil against a server that no longer answers")
		}
	})
}

func connectFake(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := natsconn.ConnectOnce(url, natsconn.Config{}, "test", "ops", slog.New(slog.DiscardHandler), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// unreachable is a URL where nothing listens.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "nats://" + addr
}

// fakeServer speaks just enough of NATS's protocol for a client to connect and flush: it
// answers the first pongs PINGs (all of them when pongs < 0).
func fakeServer(t *testing.T, pongs int64) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	var pinged atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				c.Write([]byte(`INFO {"server_id":"fake","version":"2.10.0","proto":1,"max_payload":1048576}` + "\r\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "PING") && (pongs < 0 || pinged.Add(1) <= pongs) {
						c.Write([]byte("PONG\r\n"))
					}
				}
			}()
		}
	}()
	return "nats://" + ln.Addr().String()
}
