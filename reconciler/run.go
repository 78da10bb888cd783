// Package reconciler consumes NubeFacT notifications from JetStream, applies them to the
// comprobantes table in Postgres (inbox, audit, state machine, outbox, in one transaction) and
// publishes the resulting events such as boleta.aceptada.
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/retry"
	"github.com/hotelpe/boletas/reconciler/consola"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/rate"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxHeader caps a request's line and headers on every listener (httpapi.MaxHeader).
const MaxHeader = httpapi.MaxHeader

// Run serves until ctx is cancelled: it migrates the database, declares the streams and the
// consumer, and runs the worker, the outbox relay and the health endpoints. On cancellation it
// finishes the batch in flight, flushes the outbox and drains NATS.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	return run(ctx, cfg, log, nil)
}

// errCrash is how a simulated crash ends run.
var errCrash = errors.New("simulated crash")

// run is Run with crashAfterCommit, which in-process tests set to stop the reconciler right
// after a batch commits, before any acknowledgement and before the relay publishes, as a
// SIGKILL there would: when it returns true, run ends with errCrash, with no drain.
func run(ctx context.Context, cfg Config, log *slog.Logger, crashAfterCommit func() bool) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	topo := contracts.Topologia{Prefijo: cfg.NATSPrefix}
	pool, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool).ConTopeDeAparcadas(cfg.ParkedMax)
	nc, js, cons, err := openStreams(ctx, cfg, topo, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	var m *metrics
	if cfg.Metrics {
		m = newMetrics()
	}
	// The regularizer of the schedule and the console, when NubeFacT is configured.
	var reg *regularizacion.Regularizador
	if cfg.NubefactRuta != "" && cfg.NubefactToken != "" {
		if reg, err = newRegularizador(cfg, store, js, topo, m, log); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	// Regularizations started from the console live until run returns: cancelled, then waited
	// for before the pool closes (deferred earlier), so that their records say how they ended.
	consoleCtx, cancelConsoleRuns := context.WithCancel(ctx)
	var consoleRuns sync.WaitGroup
	defer consoleRuns.Wait()
	defer cancelConsoleRuns()
	csrv, err := serveConsole(consoleCtx, cfg, store, nc, js, cons, reg, &consoleRuns, m, log)
	if err != nil {
		return err
	}
	if csrv != nil {
		defer csrv.Close() // after shutdown's graceful Shutdown, or at once on an early return
	}
	// /metrics on a listener of its own (METRICS_ADDR), as ingest's: RECONCILER_ADDR must be
	// reachable by whatever probes health, /metrics only by Prometheus.
	onAddr := m.handler()
	if cfg.MetricsAddr != "" {
		onAddr = nil
	}
	srv, err := serveHTTP(cfg, routes(store, nc, onAddr), log)
	if err != nil {
		return err
	}
	if cfg.MetricsAddr != "" && m != nil {
		msrv, err := serveMetrics(cfg.MetricsAddr, m.handler(), log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer msrv.Close()
	}
	if cfg.PprofAddr != "" {
		go httpapi.ServePprof(cfg.PprofAddr, log)
	} else {
		httpapi.DisableMemProfile()
	}

	aplicados := make(chan struct{}, 1)
	r := newRelay(store, js, log, aplicados, cfg.RelayInterval, topo, m)
	w, err := newWorker(cfg, store, js, topo, log, r, m)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer w.rate.Stop()
	w.crashAfterCommit = crashAfterCommit
	a := &aparcadas{store: store, topo: topo, decode: w.decoder.Decode, log: log, interval: cfg.ParkedInterval,
		maxAge: cfg.ParkedMaxAge, batch: cfg.BatchSize, aplicados: aplicados, metrics: m}
	g := &refresher{m: m, store: store, cons: cons, umbrales: cfg.Umbrales(), interval: cfg.MetricsInterval, log: log, now: time.Now,
		js: js, streams: []string{topo.StreamNotificaciones(), topo.StreamEventos(), topo.StreamDLQ()}}
	if w.nubefact != nil {
		a.preparar = w.prepararAparcadas
	}
	bctx, stopBackground := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.run(bctx) })
	wg.Go(func() { a.run(bctx) })
	// Always: the refresher also folds the counts the triggers append, metrics or not.
	wg.Go(func() { g.run(bctx) })
	if cfg.RegularizeEvery > 0 && reg != nil {
		p := newProgramada(cfg, reg, store, log)
		wg.Go(func() { p.run(bctx) })
	}
	log.Info("reconciler running", "addr", srv.Addr, "subjects", topo.SubjectsNotificaciones(), "nats_identity", cfg.Identity(),
		"consumer", cfg.Consumer, "batch", cfg.BatchSize)
	werr := w.run(ctx, cons)
	stopBackground()
	wg.Wait()
	if errors.Is(werr, errCrash) {
		_ = srv.Close()
		return werr // no final sweep, no drain: whatever was in flight stays there
	}
	if csrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		_ = csrv.Shutdown(sctx)
		cancel()
	}
	shutdown(ctx, cfg, r, srv, nc, log)
	return werr
}

// openStore opens the Postgres pool and migrates the database, waiting for Postgres if needed.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := OpenPool(ctx, cfg)
	if err != nil {
		return nil, err
	}
	err = retryStart(ctx, log, "migrate", func() error {
		applied, err := postgres.Migrate(ctx, pool)
		if len(applied) > 0 {
			log.Info("migrations applied", "files", applied)
		}
		return err
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// openStreams connects to NATS and declares the streams and the consumer, waiting for
// JetStream if needed.
func openStreams(ctx context.Context, cfg Config, topo contracts.Topologia, log *slog.Logger) (*nats.Conn, jetstream.JetStream, jetstream.Consumer, error) {
	nc, err := connectNATS(cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	// The relay's asynchronous publishes: one that gets no answer (its stream leader died with
	// it) is dropped from nats.go's pending set after relayAckWait, instead of holding a slot
	// until a reconnect that may never come; and the set holds what the relay may have in flight.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(relayAckWait), jetstream.WithPublishAsyncMaxPending(relayMaxPending))
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	var cons jetstream.Consumer
	err = retryStart(ctx, log, "declare streams", func() (err error) {
		cons, err = stream.Prepare(ctx, js, topo, cfg.streamOptions())
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	return nc, js, cons, nil
}

// serveHTTP serves the health endpoints (and the metrics, when METRICS_ADDR is empty) on
// RECONCILER_ADDR, with ingest's limits and timeouts.
func serveHTTP(cfg Config, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("RECONCILER_ADDR: %w", err)
	}
	srv := httpapi.NewServer(h, 30*time.Second, log)
	srv.Addr = ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health server", "err", err)
		}
	}()
	return srv, nil
}

// serveMetrics serves GET /metrics alone on addr (METRICS_ADDR).
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	srv := httpapi.NewServer(metricsRoutes(h), 30*time.Second, log)
	srv.Addr = ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", srv.Addr)
	return srv, nil
}

// serveConsole serves the ops console on CONSOLE_ADDR, or returns nil when it is off (no
// address, or no user in CONSOLE_USERS: there is no console without an account).
func serveConsole(life context.Context, cfg Config, store *postgres.Store, nc *nats.Conn, js jetstream.JetStream, cons jetstream.Consumer, reg *regularizacion.Regularizador, runs *sync.WaitGroup, m *metrics, log *slog.Logger) (*http.Server, error) {
	if cfg.ConsoleAddr == "" {
		return nil, nil
	}
	users, err := consola.ParseUsuarios(cfg.ConsoleUsers)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if users.Len() == 0 {
		log.Info("console off: CONSOLE_USERS is empty (create an account with `reconciler console-user NAME`)")
		return nil, nil
	}
	var regularizar func(context.Context, estado.Filtro, string) (int64, error)
	if reg != nil {
		regularizar = regularizarEnFondo(life, cfg, store, reg, runs, log)
	}
	m.consolePasswordChecks(users.Comparaciones)
	h, err := consola.New(consola.Opciones{Store: store, Usuarios: users, Umbrales: cfg.Umbrales(), Regularizar: regularizar,
		// Zero fields (a Config built in code) take consola.DefaultLoginLimits.
		Login:      consola.LoginLimits{Failures: cfg.ConsoleLoginFailures, Window: cfg.ConsoleLoginWindow, Concurrency: cfg.ConsoleLoginConcurrency},
		Programada: cfg.RegularizeEvery, Log: log,
		Muertas: func(ctx context.Context, antes uint64, limit int) ([]stream.Muerta, error) {
			return stream.Muertas(ctx, js, contracts.Topologia{Prefijo: cfg.NATSPrefix}, antes, limit)
		},
		Reenviar: func(ctx context.Context, id string) error {
			_, err := Reenviar(ctx, store, js, contracts.Topologia{Prefijo: cfg.NATSPrefix}, []string{id}, nil)
			return err
		},
		Salud: func(ctx context.Context) consola.Salud {
			s := consola.Salud{Postgres: store.Ping(ctx) == nil, NATS: nc.Status() == nats.CONNECTED, Cola: "desconocida", Muertas: "desconocida"}
			if info, err := cons.Info(ctx); err == nil {
				s.Cola = strconv.FormatUint(info.NumPending+uint64(info.NumAckPending), 10)
			}
			if st, err := js.Stream(ctx, contracts.Topologia{Prefijo: cfg.NATSPrefix}.StreamDLQ()); err == nil {
				if info, err := st.Info(ctx); err == nil {
					s.Muertas = strconv.FormatUint(info.State.Msgs, 10)
				}
			}
			return s
		}})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ConsoleAddr)
	if err != nil {
		return nil, fmt.Errorf("CONSOLE_ADDR: %w", err)
	}
	srv := httpapi.NewServer(h, 30*time.Second, log)
	srv.Addr = ln.Addr().String()
	go func() {
		var err error
		if cfg.ConsoleTLSCertFile != "" {
			err = srv.ServeTLS(ln, cfg.ConsoleTLSCertFile, cfg.ConsoleTLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("console server", "err", err)
		}
	}()
	log.Info("console listening", "addr", srv.Addr, "tls", cfg.ConsoleTLSCertFile != "", "users", users.Len())
	return srv, nil
}

// newWorker builds the worker, with its NubeFacT client when VERIFY_WEBHOOKS is on.
func newWorker(cfg Config, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, log *slog.Logger, r *relay, m *metrics) (*worker, error) {
	decoder, err := cfg.decoder()
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	w := &worker{store: store, js: js, topo: topo, cfg: cfg, decoder: decoder, log: log, relay: r, metrics: m}
	if !cfg.VerifyWebhooks {
		return w, nil
	}
	if w.nubefact, err = nubefact.New(cfg.NubefactRuta, cfg.NubefactToken, cfg.NubefactTimeout); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	// A webhook waits for its confirmation: one quick retry here, the rest is the redelivery's.
	w.nubefact.Retries = 1
	w.nubefact.Observe = m.nubefactCall
	w.rate = rate.New(cfg.VerifyRate)
	return w, nil
}

// shutdown publishes what the outbox still holds, stops the health server and drains NATS.
func shutdown(ctx context.Context, cfg Config, r *relay, srv *http.Server, nc *nats.Conn, log *slog.Logger) {
	log.Info("shutting down")
	// A last sweep, so that a clean shutdown leaves no event for the next start to publish.
	r.sweep(context.WithoutCancel(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := drain(nc, cfg.ShutdownTimeout); err != nil {
		log.Warn("nats drain", "err", err)
	}
	log.Info("stopped")
}

// OpenPool opens the Postgres pool DATABASE_URL names, with DATABASE_MAX_CONNS connections.
func OpenPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		// pgx redacts the password from its parse errors.
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = cfg.MaxConns
	pcfg.ConnConfig.RuntimeParams["application_name"] = "reconciler"
	return pgxpool.NewWithConfig(ctx, pcfg)
}

func connectNATS(cfg Config, log *slog.Logger) (*nats.Conn, error) {
	opts, err := cfg.Options("reconciler", "reconciler", log)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	nc, err := nats.Connect(cfg.NATSURL, append(opts,
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
	)...)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: %w", err)
	}
	return nc, nil
}

// retryStart runs f until it succeeds, ctx ends, or it fails in a way waiting cannot fix (Postgres
// refusing our credentials or database name: a configuration error to report at once).
func retryStart(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if postgres.EsErrorDeConfiguracion(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		d := retry.Backoff(attempt, 500*time.Millisecond, 10*time.Second)
		log.Warn(what+" failed: retrying", "attempt", attempt, "next_in", d, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(d):
		}
	}
}

// drain drains the connection (pending acknowledgements and publishes go out) and waits for it
// to close, so that the deferred Close does not cut the drain short.
func drain(nc *nats.Conn, timeout time.Duration) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		return err
	}
	select {
	case <-closed:
		return nil
	case <-time.After(timeout):
		return errors.New("timed out")
	}
}
