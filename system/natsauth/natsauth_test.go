// Package natsauth_test checks the NATS boundary as shipped: nats-server with
// deploy/nats/nats-server.conf and its permissions.conf, each identity allowed what its role
// needs and refused the rest, and the whole pipeline working with credentials.
package natsauth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const token = "natsauth-webhook-token-0123456789"

// roles are the identities of deploy/nats/permissions.conf and the variable of each password.
var roles = map[string]string{
	"ingest": "NATS_INGEST_PASSWORD", "reconciler": "NATS_RECONCILER_PASSWORD", "ops": "NATS_OPS_PASSWORD",
	"subscriber": "NATS_SUBSCRIBER_PASSWORD", "admin": "NATS_ADMIN_PASSWORD",
}

// shipped is the boundary under test: a server started with the shipped configuration and a
// fresh password for every identity.
type shipped struct {
	url       string
	passwords map[string]string
}

func root(tb testing.TB) string {
	tb.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// serverBinary is bin/nats-server, built as `make bin/nats-server` does when missing.
func serverBinary(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := natsserver.Installed(ctx, root(tb))
	if err != nil {
		tb.Skipf("cannot build bin/nats-server %s (needs the Go module proxy or its module cache): %v", natsserver.Version, err)
	}
	return bin
}

func startShipped(t *testing.T) *shipped {
	t.Helper()
	s := &shipped{passwords: map[string]string{}}
	var env []string
	for role, v := range roles {
		s.passwords[role] = password(t)
		env = append(env, v+"="+s.passwords[role])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := natsserver.StartShipped(ctx, serverBinary(t), t.TempDir(), filepath.Join(root(t), "deploy", "nats"), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	s.url = srv.URL()
	return s
}

// password is what docs/nats-identities.md recommends: openssl rand -hex 24.
func password(tb testing.TB) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// client is a connection as one identity, through natsconn as the services connect, with the
// errors the server sent it asynchronously (permission violations).
type client struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	refused chan error
}

// An inbox "" is a subscriber's: a program not of ours, with nats.go's defaults.
func (s *shipped) connect(t *testing.T, role, inbox string) *client {
	t.Helper()
	if inbox == "" {
		return dial(t, s.url, role, []nats.Option{nats.UserInfo(role, s.passwords[role])})
	}
	return connectAs(t, s.url, role, natsconn.Config{NATSUser: role, NATSPassword: s.passwords[role]}, inbox)
}

// connectAs connects with cfg through natsconn, as a program of ours with that inbox does.
func connectAs(t *testing.T, url, role string, cfg natsconn.Config, inbox string) *client {
	t.Helper()
	opts, err := cfg.Options("natsauth-"+role, inbox, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return dial(t, url, role, opts)
}

func dial(t *testing.T, url, role string, opts []nats.Option) *client {
	t.Helper()
	c := &client{refused: make(chan error, 64)}
	// After natsconn's: this handler replaces its log line.
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case c.refused <- err:
		default:
		}
	}))
	var err error
	if c.nc, err = nats.Connect(url, opts...); err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(c.nc.Close)
	c.js, _ = jetstream.New(c.nc)
	return c
}

// mustBeRefused publishes on subject and waits for the server's permission violation naming it.
func (c *client) mustBeRefused(t *testing.T, subject string) {
	t.Helper()
	if err := c.nc.Publish(subject, []byte(`{"forged":true}`)); err != nil {
		t.Fatal(err)
	}
	c.waitRefusal(t, "publish to \""+subject+"\"")
}

// mustNotSubscribe subscribes to subject and waits for the server's refusal.
func (c *client) mustNotSubscribe(t *testing.T, subject string) {
	t.Helper()
	sub, err := c.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	c.waitRefusal(t, "subscription to \""+subject+"\"")
}

func (c *client) waitRefusal(t *testing.T, what string) {
	t.Helper()
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-c.refused:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(what)) {
				return
			}
		case <-deadline:
			t.Fatalf("the server did not refuse the %s", what)
		}
	}
}

// mustStore publishes on subject and waits for JetStream's acknowledgement: what the identity
// may do, the control of every refusal above.
func (c *client) mustStore(t *testing.T, subject string, msgID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.js.Publish(ctx, subject, []byte(`{}`), jetstream.WithMsgID(msgID)); err != nil {
		t.Fatalf("publish to %s: %v", subject, err)
	}
}

func TestShippedConfigurationRefusesWhatEachRoleMayNotDo(t *testing.T) {
	s := startShipped(t)

	t.Run("anonymous and wrong passwords are refused", func(t *testing.T) {
		for name, opts := range map[string][]nats.Option{
			"anonymous":      nil,
			"wrong password": {nats.UserInfo("ingest", s.passwords["reconciler"])},
			"unknown user":   {nats.UserInfo("nubefact", s.passwords["ingest"])},
			"empty password": {nats.UserInfo("admin", "")},
		} {
			nc, err := nats.Connect(s.url, append(opts, nats.Timeout(5*time.Second))...)
			if err == nil {
				nc.Close()
				t.Errorf("%s: connected", name)
				continue
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("%s: %v, want an authorization violation", name, err)
			}
		}
	})

	// The whole pipeline as deployed: the reconciler declares the streams, ingest publishes the
	// webhook, the row becomes aceptado, the subscriber reads boleta.aceptada.
	pool, dsn := testkit.Pool(t, postgres.Migrate)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision) VALUES (2, 'BBB1', 105, current_date)`); err != nil {
		t.Fatal(err)
	}
	var rcfg reconciler.Config
	defaults(t, &rcfg)
	rcfg.DatabaseURL, rcfg.NATSURL, rcfg.ConsoleAddr, rcfg.PprofAddr = dsn, s.url, "", ""
	rcfg.NATSUser, rcfg.NATSPassword = "reconciler", s.passwords["reconciler"]
	start(t, "reconciler", func(ctx context.Context, addr string) error {
		c := rcfg
		c.Addr = addr
		return reconciler.Run(ctx, c, logger(t, "reconciler"))
	})
	icfg := ingest.Config{NATSURL: s.url, WebhookTokens: token, PublishTimeout: 5 * time.Second,
		RetryAfter: 5 * time.Second, ShutdownTimeout: 5 * time.Second}
	icfg.NATSUser, icfg.NATSPassword = "ingest", s.passwords["ingest"]
	ingestURL := start(t, "ingest", func(ctx context.Context, addr string) error {
		c := icfg
		c.Addr = addr
		return ingest.Run(ctx, c, logger(t, "ingest"))
	})

	t.Run("one webhook makes the boleta aceptado and one boleta.aceptada", func(t *testing.T) {
		body, err := os.ReadFile(filepath.Join(root(t), "contracts", "testdata", "seed-webhook.json"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, ingestURL+"/webhooks/nubefact", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook: %d, want 200", resp.StatusCode)
		}
		testkit.Eventually(t, time.Minute, "the boleta becomes aceptado", func() bool {
			var estado string
			err := pool.QueryRow(ctx, `SELECT estado FROM comprobantes WHERE serie = 'BBB1' AND numero = 105`).Scan(&estado)
			return err == nil && estado == "aceptado"
		})

		sub := s.connect(t, "subscriber", "")
		cons, err := sub.js.CreateOrUpdateConsumer(ctx, contracts.Topologia{}.StreamEventos(), jetstream.ConsumerConfig{
			Durable: "contabilidad", FilterSubject: "boleta.>", AckPolicy: jetstream.AckExplicitPolicy,
		})
		if err != nil {
			t.Fatalf("the subscriber creates its consumer: %v", err)
		}
		var got []string
		testkit.Eventually(t, time.Minute, "the subscriber reads boleta.aceptada", func() bool {
			batch, err := cons.Fetch(10, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return false
			}
			for m := range batch.Messages() {
				var ev contracts.Evento
				if err := json.Unmarshal(m.Data(), &ev); err != nil {
					t.Errorf("event %s: %v", m.Subject(), err)
				}
				got = append(got, fmt.Sprintf("%s %s-%d", m.Subject(), ev.Data.Serie, ev.Data.Numero))
				if err := m.DoubleAck(ctx); err != nil {
					t.Errorf("the subscriber acknowledges: %v", err)
				}
			}
			return len(got) > 0
		})
		if len(got) != 1 || got[0] != "boleta.aceptada BBB1-105" {
			t.Errorf("events read: %q, want one boleta.aceptada BBB1-105", got)
		}
		if info, err := cons.Info(ctx); err != nil || info.NumAckPending != 0 || info.NumPending != 0 {
			t.Errorf("after the acknowledgement the consumer has %+v (%v), want nothing pending", info, err)
		}
	})

	ours := []string{
		"nubefact.notificaciones.webhook", "nubefact.notificaciones.regularizacion",
		"nubefact.notificaciones.replay.webhook", "nubefact.dlq", "boleta.aceptada", "factura.rechazada",
	}
	t.Run("ingest publishes webhooks only", func(t *testing.T) {
		c := s.connect(t, "ingest", "ingest")
		c.mustStore(t, "nubefact.notificaciones.webhook", "natsauth-ingest")
		for _, subject := range []string{"nubefact.notificaciones.regularizacion", "nubefact.notificaciones.replay.webhook",
			"nubefact.dlq", "boleta.aceptada", "$JS.API.STREAM.PURGE.NUBEFACT_NOTIFICACIONES"} {
			c.mustBeRefused(t, subject)
		}
		c.mustNotSubscribe(t, "_INBOX_reconciler.>")
		c.mustNotSubscribe(t, "boleta.>")
	})
	t.Run("ops publishes regularizations and replays only", func(t *testing.T) {
		c := s.connect(t, "ops", "ops")
		c.mustStore(t, "nubefact.notificaciones.regularizacion", "natsauth-ops-1")
		c.mustStore(t, "nubefact.notificaciones.replay.webhook", "natsauth-ops-2")
		for _, subject := range []string{"nubefact.notificaciones.webhook", "boleta.aceptada", "nubefact.dlq",
			"$JS.API.CONSUMER.MSG.NEXT.NUBEFACT_NOTIFICACIONES.reconciler"} {
			c.mustBeRefused(t, subject)
		}
		c.mustNotSubscribe(t, "_INBOX_reconciler.>")
	})
	t.Run("the subscriber reads events and publishes nothing of ours", func(t *testing.T) {
		c := s.connect(t, "subscriber", "")
		for _, subject := range append(ours, "$JS.API.CONSUMER.CREATE.NUBEFACT_NOTIFICACIONES.espia",
			"$JS.API.STREAM.MSG.GET.NUBEFACT_DLQ", "$JS.API.STREAM.PURGE.COMPROBANTES_EVENTOS") {
			c.mustBeRefused(t, subject)
		}
		c.mustNotSubscribe(t, "_INBOX_reconciler.>")
		c.mustNotSubscribe(t, "nubefact.notificaciones.>")
	})
	t.Run("the reconciler may not publish webhooks", func(t *testing.T) {
		c := s.connect(t, "reconciler", "reconciler")
		c.mustBeRefused(t, "nubefact.notificaciones.webhook")
	})
}

// defaults fills cfg with the defaults of its envconfig tags, as the service started gets them.
// Under a prefix nobody sets envconfig still reads the unprefixed variables, so the caller
// overrides whatever this test's environment could set and matters (addresses, credentials).
func defaults(t *testing.T, cfg any) {
	t.Helper()
	if err := envconfig.Process("natsauth_unset_prefix", cfg); err != nil {
		t.Fatal(err)
	}
}

func logger(tb testing.TB, service string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})).With("service", service)
}

// start runs a service in-process on a free loopback port until the test ends, once its
// /readyz answers 200, and returns its base URL.
func start(t *testing.T, name string, run func(ctx context.Context, addr string) error) string {
	t.Helper()
	addr, err := freeport.Try(func(addr string) error {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, addr) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		var exited error // the service ended before it was ready: polling stops
		err := testkit.Poll(time.Minute, func() error {
			select {
			case err := <-done:
				once.Do(cancel)
				exited = freeport.InUse(fmt.Errorf("%s ended before it was ready: %w", name, err), fmt.Sprint(err))
				return nil
			default:
			}
			resp, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("readyz: status %d", resp.StatusCode)
			}
			return nil
		})
		switch {
		case exited != nil:
			return exited
		case err != nil:
			stop()
			return fmt.Errorf("%s not ready within a minute: %w", name, err)
		}
		t.Cleanup(stop)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// TestClusterConfigurationsParse checks every shipped node configuration with nats-server -t,
// the passwords and the routes given by the environment as compose gives them.
func TestClusterConfigurationsParse(t *testing.T) {
	bin := serverBinary(t)
	env := os.Environ()
	for _, v := range roles {
		env = append(env, v+"="+password(t))
	}
	route := password(t)
	env = append(env, "NATS_ROUTE_PASSWORD="+route,
		"NATS_ROUTES=[nats-route://route:"+route+"@nats-1:6222, nats-route://route:"+route+"@nats-2:6222, nats-route://route:"+route+"@nats-3:6222]")
	files, err := filepath.Glob(filepath.Join(root(t), "deploy", "nats", "cluster", "nats-*.conf"))
	if err != nil || len(files) != 3 {
		t.Fatalf("cluster configurations: %v (%v), want 3", files, err)
	}
	for _, f := range append(files, filepath.Join(root(t), "deploy", "nats", "nats-server.conf")) {
		cmd := exec.Command(bin, "-t", "-c", f)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "is valid") {
			t.Errorf("nats-server -t -c %s: %v\n%s", f, err, out)
		}
		// Without a password the server must not start: no identity is left open.
		cmd = exec.Command(bin, "-t", "-c", f)
		for _, e := range env {
			if !strings.HasPrefix(e, "NATS_SUBSCRIBER_PASSWORD=") {
				cmd.Env = append(cmd.Env, e)
			}
		}
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("nats-server -t -c %s accepts a missing NATS_SUBSCRIBER_PASSWORD:\n%s", f, out)
		}
	}
}
