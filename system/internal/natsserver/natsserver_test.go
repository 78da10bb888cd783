package natsserver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// binary is bin/nats-server (`make bench` and `make chaos` install it) or one on the PATH.
func binary(t *testing.T) string {
	if p, err := filepath.Abs("../../../bin/nats-server"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server: neither bin/nats-server nor one on the PATH")
	}
	return p
}

func TestKillAndRestartKeepTheStream(t *testing.T) {
	s, err := natsserver.Start(context.Background(), binary(t), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st, err := js.Stream(ctx, "T"); err == nil {
			if info, err := st.Info(ctx); err == nil {
				if msgs = info.State.Msgs; msgs == 1 {
					return
				}
			}
		}
	}
	t.Errorf("after the restart the stream has %d messages, want 1", msgs)
}
