package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The end-to-end harness: both services started in-process through their Run functions,
// against real Postgres and real NATS JetStream, each test in its own database and namespace.

var tokens = []string{"token-e2e-0123456789abcdef", "token-e2e-fedcba9876543210"}

// pipeline is one end-to-end fixture: a database, a NATS namespace, the services started on
// them, and the helpers that drive and observe them.
type pipeline struct {
	t          *testing.T
	topo       contracts.Topologia
	natsURL    string
	dsn        string
	pool       *pgxpool.Pool
	js         jetstream.JetStream
	nats       *natsServer          // the test's own NATS server (pipelineOptions.ownNATS), or nil
	sim        *simulador.Simulador // the fake NubeFacT (pipelineOptions.simulador), or nil
	cfg        reconciler.Config    // the configuration the reconcilers started with
	ingest     string               // base URL of ingest
	reconciler string               // base URL of the last reconciler started
	stops      []func() error       // of the reconcilers newPipeline started

	mu sync.Mutex
	// ingestMetrics is the URL of ingest's GET /metrics, on a listener of its own.
	ingestMetrics string
	received      []receivedEvent
}

type receivedEvent struct {
	subject string
	msgID   string
	evento  contracts.Evento
}

// pipelineOptions change what newPipeline starts. The zero value is the usual pipeline: one
// reconciler and ingest on the shared test servers, in a database and a namespace of their own.
type pipelineOptions struct {
	// ownNATS runs the pipeline on a NATS server of the test's own (p.nats), which the test may
	// stop and start, in the namespace "e2e".
	ownNATS bool
	// database is a database of the test's own, not migrated yet: the reconciler migrates it on
	// start. "" means a new database, migrated.
	database string
	// simulador points the reconcilers at a fake NubeFacT (p.sim).
	simulador bool
	// prepare runs once the database, NATS and the simulator are ready and p.cfg holds the
	// reconcilers' configuration, before any service starts: it may change p.cfg, insert rows.
	prepare func(p *pipeline)
	// reconcilers is how many reconcilers start; 0 means one.
	reconcilers int
	noIngest    bool // start no ingest
	subscribe   bool // record every event published (p.receivedEvents)
}

// newPipeline prepares a database and a NATS namespace, then starts the services o asks for,
// each stopped when the test ends.
func newPipeline(t *testing.T, o pipelineOptions) *pipeline {
	t.Helper()
	p := &pipeline{t: t, natsURL: testkit.NATSURL(t), topo: testkit.Namespace(t)}
	if o.ownNATS {
		p.nats = newNATSServer(t)
		p.natsURL, p.topo = p.nats.url(), contracts.Topologia{Prefijo: "e2e"}
	}
	if o.database == "" {
		p.pool, p.dsn = testkit.Pool(t, postgres.Migrate)
	} else {
		pool, err := pgxpool.New(context.Background(), o.database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		p.pool, p.dsn = pool, o.database
	}
	nc, err := nats.Connect(p.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if p.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}

	p.cfg = p.reconcilerConfig()
	if o.simulador {
		p.sim = withSimulador(t, &p.cfg)
	}
	if o.prepare != nil {
		o.prepare(p)
	}
	for range max(o.reconcilers, 1) {
		p.stops = append(p.stops, p.startReconciler(p.cfg))
	}
	if !o.noIngest {
		p.startIngest()
	}
	if o.subscribe {
		p.subscribe()
	}
	return p
}

// stopReconcilers stops the reconcilers newPipeline started, and waits for them.
func (s *pipeline) stopReconcilers() {
	for _, stop := range s.stops {
		_ = stop()
	}
}

func testLogger(tb testing.TB, service string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})).With("service", service)
}

// reconcilerConfig is the shipped configuration with test-sized delays.
func (s *pipeline) reconcilerConfig() reconciler.Config {
	return reconciler.Config{
		DatabaseURL: s.dsn, MaxConns: 4, NATSURL: s.natsURL, NATSPrefix: s.topo.Prefijo,
		Consumer: "reconciler", StreamReplicas: 1, DuplicateWindow: 2 * time.Minute, StreamMaxAge: time.Hour,
		EventsDuplicateWindow: time.Hour, AckWait: 2 * time.Second, MaxDeliver: -1, MaxAckPending: 1000,
		BatchSize: 100, Workers: 2, VerifyConcurrency: 4, VerifyRetries: 3, StreamMaxBytes: -1, DLQMaxAge: time.Hour,
		ParkedInterval: 100 * time.Millisecond, ParkedMaxAge: time.Hour, RelayInterval: time.Hour,
		ShutdownTimeout: 5 * time.Second, LogLevel: slog.LevelInfo, Metrics: true, MetricsInterval: time.Second,
		PlazoAtencionDias: 2, PlazoCriticoDias: 5, PlazoDias: 7, RegularizeOlderThan: 48 * time.Hour, RegularizeConcurrency: 4, RegularizeRate: 5,
	}
}

// startReconciler runs a reconciler, on a free port of its own (s.reconciler is its base
// URL), until the returned stop is called (or the test ends).
func (s *pipeline) startReconciler(cfg reconciler.Config) (stop func() error) {
	s.t.Helper()
	addr, stop := s.start(func(ctx context.Context, addr string) error {
		cfg.Addr = addr
		return reconciler.Run(ctx, cfg, testLogger(s.t, "reconciler"))
	})
	s.reconciler = "http://" + addr
	return stop
}

func (s *pipeline) startIngest() (stop func() error) {
	s.t.Helper()
	cfg := ingest.Config{
		NATSURL: s.natsURL, NATSPrefix: s.topo.Prefijo, WebhookTokens: tokens[0] + "," + tokens[1],
		PublishTimeout: 2 * time.Second, RetryAfter: 5 * time.Second, ShutdownTimeout: 5 * time.Second,
	}
	addr, stop := s.start(func(ctx context.Context, addr string) error {
		metricsAddr, err := freeport.Candidate()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.ingestMetrics = "http://" + metricsAddr + "/metrics"
		s.mu.Unlock()
		c := cfg
		c.Addr, c.MetricsAddr = addr, metricsAddr
		return ingest.Run(ctx, c, testLogger(s.t, "ingest"))
	})
	s.ingest = "http://" + addr
	return stop
}

// start runs a service in-process on a free port until stop (or the end of the test),
// waiting until its /readyz answers 200; a port taken meanwhile is replaced by another
// (freeport.Try), so there is no reserve-then-release race. stop returns what run returned.
func (s *pipeline) start(run func(ctx context.Context, addr string) error) (addr string, stop func() error) {
	s.t.Helper()
	addr, err := freeport.Try(func(addr string) error {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, addr) }()
		var once sync.Once
		var runErr error
		stop = func() error {
			once.Do(func() { cancel(); runErr = <-done })
			return runErr
		}
		if err := waitReady("http://"+addr+"/readyz", done); err != nil {
			if errors.Is(err, errExited) {
				cancel() // it has ended already: done was read
			} else {
				_ = stop() // wait for it, so that nothing logs after the test
			}
			return err
		}
		s.t.Cleanup(func() { _ = stop() })
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return addr, stop
}

// errExited: the service ended before it was ready.
var errExited = errors.New("service exited")

// waitReady polls url until it answers 200; it fails with the service's error if the service
// ends first (an address already in use among them).
func waitReady(url string, done <-chan error) error {
	var exited error // polling stops when the service ends
	err := testkit.Poll(20*time.Second, func() error {
		select {
		case err := <-done:
			exited = fmt.Errorf("%w before %s was ready: %w", errExited, url, err)
			return nil
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if exited != nil {
		return exited
	}
	if err != nil {
		return fmt.Errorf("%s not ready after 20s: %w", url, err)
	}
	return nil
}

// post delivers a webhook with tokens[0] as Bearer token and returns the status and headers.
func (s *pipeline) post(body []byte) (int, http.Header) {
	s.t.Helper()
	return s.postWith(body, map[string]string{"Authorization": "Bearer " + tokens[0]}, "")
}

func (s *pipeline) postWith(body []byte, headers map[string]string, query string) (int, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.ingest+"/webhooks/nubefact"+query, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// subscribe records every event published in the namespace, as a subscriber would.
func (s *pipeline) subscribe() {
	s.t.Helper()
	ctx := context.Background()
	cons, err := s.js.OrderedConsumer(ctx, s.topo.StreamEventos(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		s.t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var ev contracts.Evento
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			s.t.Errorf("event is not JSON: %v", err)
		}
		s.mu.Lock()
		s.received = append(s.received, receivedEvent{subject: m.Subject(), msgID: m.Headers().Get(jetstream.MsgIDHeader), evento: ev})
		s.mu.Unlock()
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(cc.Stop)
}

func (s *pipeline) receivedEvents() []receivedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedEvent(nil), s.received...)
}

func (s *pipeline) insertPendiente(tipo int, serie string, numero int) {
	s.t.Helper()
	// The billing system's INSERT, as the README shows it.
	_, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		VALUES ($1, $2, $3, $4)`, tipo, serie, numero, "2026-11-24")
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *pipeline) estado(serie string, numero int) string {
	s.t.Helper()
	var e string
	err := s.pool.QueryRow(context.Background(), `SELECT estado FROM comprobantes WHERE serie = $1 AND numero = $2`, serie, numero).Scan(&e)
	if err != nil {
		return "error: " + err.Error()
	}
	return e
}

func (s *pipeline) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (s *pipeline) column(query string, args ...any) []string {
	s.t.Helper()
	rows, err := s.pool.Query(context.Background(), query, args...)
	if err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return out
}

// waitNoAckPending waits until the reconciler's consumer holds nothing delivered and not
// acknowledged.
func (s *pipeline) waitNoAckPending() {
	s.t.Helper()
	cons, err := s.js.Consumer(context.Background(), s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		s.t.Fatal(err)
	}
	testkit.Eventually(s.t, 20*time.Second, "no message left in the consumer's ack-pending set", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
}

// seed is the notification of the user's document (seed/webhook-nubefact.md).
func seed(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "contracts", "testdata", "seed-webhook.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// aceptada builds an accepted-boleta notification for serie-numero.
func aceptada(serie string, numero int) []byte {
	return []byte(fmt.Sprintf(`{"tipo_de_comprobante":2,"serie":%q,"numero":%d,"aceptada_por_sunat":true,
		"sunat_responsecode":"0","sunat_description":"La Boleta de Venta numero %s-%d, ha sido aceptada",
		"enlace":"https://www.nubefact.com/cpe/%[1]s-%[2]d","enlace_del_pdf":"https://www.nubefact.com/cpe/%[1]s-%[2]d.pdf",
		"enlace_del_xml":"https://www.nubefact.com/cpe/%[1]s-%[2]d.xml","enlace_del_cdr":"https://www.nubefact.com/cpe/%[1]s-%[2]d.cdr",
		"codigo_hash":"hash-%[1]s-%[2]d="}`, serie, numero, serie, numero))
}

// natsServer is a NATS server of the test's own, which it can stop and start again.
type natsServer struct {
	opts *natsserver.Options
	srv  *natsserver.Server
}

func newNATSServer(tb testing.TB) *natsServer {
	tb.Helper()
	// The first start takes a random port; restarts keep it, as clients reconnect to it.
	s := &natsServer{opts: &natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true,
		StoreDir: tb.TempDir(), NoLog: true, NoSigs: true}}
	s.start(tb)
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	tb.Cleanup(s.stop)
	return s
}

func (s *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port) }

func (s *natsServer) start(tb testing.TB) {
	tb.Helper()
	srv, err := natsserver.NewServer(s.opts)
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats server not ready")
	}
	s.srv = srv
}

func (s *natsServer) stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// proxy forwards TCP connections to target until cut, so a test can take Postgres away from
// the reconciler (and give it back) without touching the shared server.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newProxy(tb testing.TB, target string) *proxy {
	tb.Helper()
	p := &proxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.restore(tb) // takes a free port, which later restores keep
	tb.Cleanup(p.cut)
	return p
}

func (p *proxy) restore(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		tb.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// cut closes the listener and every open connection: Postgres is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// testRecibida builds what the worker would hand the store for a webhook body.
func testRecibida(tb testing.TB, body []byte) estado.Recibida {
	tb.Helper()
	n, err := contracts.Decode(body)
	if err != nil {
		tb.Fatal(err)
	}
	return estado.Recibida{MessageID: contracts.MessageID(n), Notificacion: n, Payload: body,
		Origen: contracts.OrigenWebhook, Recibido: time.Now(), Intentos: 1}
}

// answerJSON is the simulator's standard response for clave with outcome r, as JSON.
func answerJSON(c contracts.Clave, r simulador.Situacion) ([]byte, error) {
	return json.Marshal(simulador.Respuesta(c, r))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
