package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// The tests of this package that need the service's internals (the crash hook, the relay)
// run it in-process on a database and a NATS namespace of their own. The end-to-end suite, with
// ingest and the command line, is system/e2e.

type servicio struct {
	t    *testing.T
	topo contracts.Topologia
	pool *pgxpool.Pool
	js   jetstream.JetStream
	cfg  Config
}

func nuevoServicio(t *testing.T) *servicio {
	t.Helper()
	pool, dsn := testkit.Pool(t, postgres.Migrate)
	_, js := testkit.Connect(t)
	topo := testkit.Namespace(t)
	return &servicio{t: t, topo: topo, pool: pool, js: js, cfg: Config{
		DatabaseURL: dsn, MaxConns: 4, NATSURL: testkit.NATSURL(t), NATSPrefix: topo.Prefijo,
		Consumer: "reconciler", StreamReplicas: 1, DuplicateWindow: 2 * time.Minute, StreamMaxAge: time.Hour,
		EventsDuplicateWindow: time.Hour, AckWait: 2 * time.Second, MaxDeliver: -1, MaxAckPending: 1000,
		BatchSize: 100, Workers: 2, VerifyConcurrency: 4, VerifyRetries: 3, StreamMaxBytes: -1, DLQMaxAge: time.Hour,
		ParkedInterval: 100 * time.Millisecond, ParkedMaxAge: time.Hour, RelayInterval: time.Hour,
		ShutdownTimeout: 5 * time.Second, LogLevel: slog.LevelInfo, Metrics: true, MetricsInterval: time.Second,
		PlazoAtencionDias: 2, PlazoCriticoDias: 5, PlazoDias: 7, RegularizeOlderThan: 48 * time.Hour, RegularizeConcurrency: 4, RegularizeRate: 5,
	}}
}

// arrancar runs the reconciler (with crashAfterCommit, which may be nil) on a free port until
// stop, waiting until /readyz answers 200; a port taken between choosing and listening is
// replaced by another. stop returns what run returned.
func (s *servicio) arrancar(crashAfterCommit func() bool) (stop func() error) {
	s.t.Helper()
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.t.Fatal(err)
		}
		s.cfg.Addr = l.Addr().String()
		l.Close()
		stop, err := s.intentar(crashAfterCommit)
		if !errors.Is(err, syscall.EADDRINUSE) {
			if err != nil {
				s.t.Fatal(err)
			}
			return stop
		}
	}
	s.t.Fatal("no free port in 10 attempts")
	return nil
}

func (s *servicio) intentar(crashAfterCommit func() bool) (stop func() error, _ error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(s.t.Output(), nil)).With("service", "reconciler")
	cfg := s.cfg
	go func() { done <- run(ctx, cfg, log, crashAfterCommit) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	var ended error
	err = testkit.Poll(20*time.Second, func() error {
		select {
		case err := <-done:
			ended = fmt.Errorf("the reconciler ended before it was ready: %w", err)
			return nil
		default:
		}
		resp, err := http.Get("http://" + cfg.Addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answers %d", resp.StatusCode)
		}
		return nil
	})
	if ended != nil {
		cancel()
		return nil, ended
	}
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("the reconciler was not ready after 20s: %w", err)
	}
	s.t.Cleanup(func() { _ = stop() })
	return stop, nil
}

// publicar puts a webhook's notification on the stream, as ingest would.
func (s *servicio) publicar(body []byte) {
	s.t.Helper()
	n, err := contracts.Decode(body)
	if err != nil {
		s.t.Fatal(err)
	}
	m := s.topo.Mensaje(body, contracts.MessageID(n), contracts.OrigenWebhook, time.Now(), "203.0.113.7:1")
	if err := stream.Publish(context.Background(), s.js, m); err != nil {
		s.t.Fatal(err)
	}
}

func (s *servicio) insertarPendiente(serie string, numero int) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero)
		VALUES (2, $1, $2)`, serie, numero); err != nil {
		s.t.Fatal(err)
	}
}

func (s *servicio) estado(serie string, numero int) string {
	s.t.Helper()
	var e string
	if err := s.pool.QueryRow(context.Background(), `SELECT estado FROM comprobantes WHERE serie = $1 AND numero = $2`,
		serie, numero).Scan(&e); err != nil {
		return "error: " + err.Error()
	}
	return e
}

func (s *servicio) count(query string) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// aceptada builds an accepted-boleta notification for serie-numero.
func aceptada(serie string, numero int) []byte {
	return fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":%q,"numero":%d,"aceptada_por_sunat":true,
		"sunat_responsecode":"0","enlace_del_cdr":"https://www.nubefact.com/cpe/%[1]s-%[2]d.cdr",
		"codigo_hash":"hash-%[1]s-%[2]d="}`, serie, numero)
}

func recibidaDePrueba(tb testing.TB, body []byte) estado.Recibida {
	tb.Helper()
	n, err := contracts.Decode(body)
	if err != nil {
		tb.Fatal(err)
	}
	return estado.Recibida{MessageID: contracts.MessageID(n), Notificacion: n, Payload: body,
		Origen: contracts.OrigenWebhook, Recibido: time.Now(), Intentos: 1}
}
