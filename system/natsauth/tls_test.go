package natsauth_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/cli"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// tlsBlock is the server side of docs/nats-identities.md's TLS: its certificate, and client
// certificates required and checked against ca.
func tlsBlock(cert, key, ca string) string {
	return fmt.Sprintf(`tls {
  cert_file: %q
  key_file: %q
  ca_file: %q
  verify: true
  # A handshake on a busy machine may take longer than nats-server's default 2 s.
  timeout: 10
}
`, cert, key, ca)
}

// TestTLSWithClientCertificates runs bin/nats-server with TLS and client certificates required,
// every certificate made by the test, and connects as the programs do: through natsconn.Config,
// and through the variables NATS_CA, NATS_CERT and NATS_KEY of a real command.
func TestTLSWithClientCertificates(t *testing.T) {
	ca := newAuthority(t, "boletas-nats-ca")
	serverCert, serverKey := ca.issue(t, "nats", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey := ca.issue(t, "reconciler", x509.ExtKeyUsageClientAuth)
	// A CA of the right shape that did not sign the server's certificate: the operator's mistake.
	stranger := newAuthority(t, "stranger-ca")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := natsserver.StartWith(ctx, serverBinary(t), t.TempDir(), "", tlsBlock(serverCert, serverKey, ca.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	keys := keyMaterial(t, clientKey, serverKey)
	good := natsconn.Config{NATSCA: ca.File, NATSCert: clientCert, NATSKey: clientKey}

	t.Run("NATS_CA, NATS_CERT and NATS_KEY connect over TLS and JetStream answers", func(t *testing.T) {
		nc, err := connectWith(srv.URL(), good)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer nc.Close()
		state, err := nc.TLSConnectionState()
		if err != nil {
			t.Fatalf("the connection is not TLS: %v", err)
		}
		if len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "nats" {
			t.Errorf("server certificate %v, want the one for nats", state.PeerCertificates)
		}
		js, _ := jetstream.New(nc)
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "TLS", Subjects: []string{"tls.>"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "tls.hola", []byte("{}")); err != nil {
			t.Fatalf("publish over TLS: %v", err)
		}
	})

	t.Run("reconciler check reads NATS_CA, NATS_CERT and NATS_KEY", func(t *testing.T) {
		out, err := reconcilerCheck(t, srv.URL(), good)
		if err != nil || !strings.Contains(out, "nats      ok") {
			t.Fatalf("reconciler check: %v\n%s", err, out)
		}
	})

	t.Run("the reconciler declares its streams over TLS", func(t *testing.T) {
		_, dsn := testkit.Pool(t, postgres.Migrate)
		var cfg reconciler.Config
		defaults(t, &cfg)
		cfg.DatabaseURL, cfg.NATSURL, cfg.ConsoleAddr, cfg.PprofAddr, cfg.MetricsAddr = dsn, srv.URL(), "", "", ""
		cfg.Config = good
		start(t, "reconciler", func(ctx context.Context, addr string) error {
			c := cfg
			c.Addr = addr
			return reconciler.Run(ctx, c, logger(t, "reconciler"))
		})
		nc, err := connectWith(srv.URL(), good)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		if _, err := js.Stream(ctx, contracts.Topologia{}.StreamEventos()); err != nil {
			t.Errorf("the events stream after the reconciler started: %v", err)
		}
	})

	t.Run("without a client certificate the server refuses", func(t *testing.T) {
		cfg := natsconn.Config{NATSCA: ca.File}
		nc, err := connectWith(srv.URL(), cfg)
		if err == nil {
			nc.Close()
			t.Fatal("connected without a client certificate")
		}
		t.Logf("refused: %v", err)
		noKeyMaterial(t, err.Error(), keys)
		out, err := reconcilerCheck(t, srv.URL(), cfg)
		if err == nil || !strings.Contains(out, "nats      MISSING") {
			t.Errorf("reconciler check without a client certificate: %v\n%s", err, out)
		}
		noKeyMaterial(t, out, keys)
	})

	t.Run("a CA that did not sign the server's certificate fails the handshake", func(t *testing.T) {
		cfg := natsconn.Config{NATSCA: stranger.File, NATSCert: clientCert, NATSKey: clientKey}
		const why = "x509: certificate signed by unknown authority"
		nc, err := connectWith(srv.URL(), cfg)
		if err == nil {
			nc.Close()
			t.Fatal("connected to a server whose certificate NATS_CA did not sign")
		}
		if !strings.Contains(err.Error(), why) {
			t.Errorf("connect: %v, want it to say %q", err, why)
		}
		noKeyMaterial(t, err.Error(), keys)
		out, err := reconcilerCheck(t, srv.URL(), cfg)
		if err == nil || !strings.Contains(out, why) {
			t.Errorf("reconciler check: %v\n%s\nwant it to say %q", err, out, why)
		}
		noKeyMaterial(t, out, keys)
	})

	t.Run("a key that is not the certificate's is named, not quoted", func(t *testing.T) {
		cfg := natsconn.Config{NATSCA: ca.File, NATSCert: clientCert, NATSKey: serverKey}
		out, err := reconcilerCheck(t, srv.URL(), cfg)
		if err == nil || !strings.Contains(out, "client certificate: tls: private key does not match public key") {
			t.Errorf("reconciler check: %v\n%s", err, out)
		}
		noKeyMaterial(t, out, keys)
	})

	// The services retry their first connection (a NATS server may start after them): the
	// reason it fails must reach their log, or a wrong NATS_CA looks like a server that is down.
	t.Run("ingest logs why it cannot connect", func(t *testing.T) {
		var log testkit.LogBuffer
		cfg := ingest.Config{NATSURL: srv.URL(), WebhookTokens: token, PublishTimeout: 5 * time.Second,
			RetryAfter: 5 * time.Second, ShutdownTimeout: 5 * time.Second, Addr: "127.0.0.1:0"}
		cfg.Config = natsconn.Config{NATSCA: stranger.File, NATSCert: clientCert, NATSKey: clientKey}
		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ingest.Run(runCtx, cfg, slog.New(slog.NewTextHandler(&log, nil))) }()
		defer func() { stop(); <-done }()
		testkit.Eventually(t, time.Minute, "ingest logs the certificate error", func() bool {
			return strings.Contains(log.String(), "certificate signed by unknown authority")
		})
		noKeyMaterial(t, log.String(), keys)
	})
}

// connectWith connects as a one-shot command does: natsconn's options, no retry.
func connectWith(url string, cfg natsconn.Config) (*nats.Conn, error) {
	opts, err := cfg.Options("natsauth-tls", "ops", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return nats.Connect(url, append(opts, nats.Timeout(10*time.Second))...)
}

// reconcilerCheck runs `reconciler check` in-process with the NATS variables of cfg in its
// environment (and the test's PostgreSQL), as an operator runs it, and returns what it printed.
func reconcilerCheck(t *testing.T, url string, cfg natsconn.Config) (string, error) {
	t.Helper()
	for v, value := range map[string]string{
		"DATABASE_URL": testkit.AdminURL(t), "NATS_URL": url,
		"NATS_CA": cfg.NATSCA, "NATS_CERT": cfg.NATSCert, "NATS_KEY": cfg.NATSKey,
		"NATS_NKEY_SEED": cfg.NATSNKeySeed, "NATS_CREDS": cfg.NATSCreds,
		"NATS_USER": cfg.NATSUser, "NATS_PASSWORD": cfg.NATSPassword,
	} {
		t.Setenv(v, value)
	}
	var out bytes.Buffer
	err := cli.Main(context.Background(), []string{"reconciler", "check"}, &out, &out)
	return out.String(), err
}

// keyMaterial is every line of the PEM bodies of the key files: what no message may quote.
func keyMaterial(tb testing.TB, files ...string) []string {
	tb.Helper()
	var lines []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "-----") {
				lines = append(lines, l)
			}
		}
	}
	return lines
}

func noKeyMaterial(tb testing.TB, text string, keys []string) {
	tb.Helper()
	if strings.Contains(text, "PRIVATE KEY") {
		tb.Errorf("%q quotes a private key", text)
	}
	for _, k := range keys {
		if strings.Contains(text, k) {
			tb.Errorf("%q quotes key material", text)
		}
	}
}
