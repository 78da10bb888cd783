// Package reconciler wires the reconciler: it reads the configuration, opens Postgres and
// NATS, and starts and stops the jobs, each in a package of its own under internal/: the
// worker (consumes the notifications and applies them, a batch per transaction), the relay
// (publishes the outbox's events, such as boleta.aceptada), aparcadas (applies notifications
// whose comprobante arrived late), programada (scheduled and console regularizaciones) and
// metrics (the gauges' refresher); and the HTTP surfaces (health, metrics, the console).
package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/contracts/retry"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/aparcadas"
	"github.com/hotelpe/boletas/reconciler/internal/metrics"
	"github.com/hotelpe/boletas/reconciler/internal/programada"
	"github.com/hotelpe/boletas/reconciler/internal/rate"
	"github.com/hotelpe/boletas/reconciler/internal/reenvio"
	"github.com/hotelpe/boletas/reconciler/internal/relay"
	"github.com/hotelpe/boletas/reconciler/internal/verificacion"
	"github.com/hotelpe/boletas/reconciler/internal/worker"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Run serves until ctx is cancelled: it migrates the database, declares the streams and the
// consumer, and runs the worker, the outbox relay and the health endpoints. On cancellation it
// finishes the batch in flight, flushes the outbox and drains NATS.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	return run(ctx, cfg, log, nil)
}

// run is Run with crashAfterCommit, which in-process tests set to stop the reconciler right
// after a batch commits (worker.Options.CrashAfterCommit): run then ends with worker.ErrCrash,
// with no drain, as after a SIGKILL.
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
	var m *metrics.Metrics
	if cfg.Metrics {
		m = metrics.New()
	}
	var reg *regularizacion.Regularizador
	if cfg.NubefactRuta != "" && cfg.NubefactToken != "" {
		if reg, err = newRegularizador(cfg, store, js, topo, m, log); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
	}
	// Regularizaciones started from the console live until run returns: cancelled, then waited
	// for before the pool closes (deferred earlier), so that their records say how they ended.
	consoleCtx, cancelConsoleRuns := context.WithCancel(ctx)
	var enFondo *programada.EnFondo
	if reg != nil {
		enFondo = programada.NewEnFondo(consoleCtx, cfg.regularizacion(), store, reg, log)
		defer enFondo.Wait()
	}
	defer cancelConsoleRuns()
	csrv, err := serveConsole(cfg, consoleBackend{store: store, nc: nc, js: js, cons: cons, topo: topo, enFondo: enFondo, metrics: m}, log)
	if err != nil {
		return err
	}
	if csrv != nil {
		defer csrv.Close() // after shutdown's graceful Shutdown, or at once on an early return
	}
	// /metrics on a listener of its own (METRICS_ADDR), as ingest's: RECONCILER_ADDR must be
	// reachable by whatever probes health, /metrics only by Prometheus.
	onAddr := m.Handler()
	if cfg.MetricsAddr != "" {
		onAddr = nil
	}
	srv, err := serve(cfg.Addr, "RECONCILER_ADDR", routes(store, nc, onAddr), log)
	if err != nil {
		return err
	}
	if cfg.MetricsAddr != "" && m != nil {
		msrv, err := serve(cfg.MetricsAddr, "METRICS_ADDR", metricsRoutes(m.Handler()), log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer msrv.Close()
	}
	httpapi.StartPprof(cfg.PprofAddr, log)

	decoder, err := cfg.decoder()
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("configuration: %w", err)
	}
	ver, err := newVerificador(cfg, m, log)
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("configuration: %w", err)
	}
	if ver != nil {
		defer ver.Rate.Stop()
	}
	r := relay.New(store, js, topo, cfg.RelayInterval, m, log)
	w := worker.New(worker.Options{
		BatchSize: cfg.BatchSize, Workers: cfg.Workers, BatchTimeout: cfg.ShutdownTimeout, AckWait: cfg.AckWait,
		Claim: relay.CommittedClaim, Consumer: cons, Store: store, Relay: r, Topo: topo, Decoder: decoder, Verificador: ver, Metrics: m, Log: log,
		SendToDeadLetters: func(ctx context.Context, msg jetstream.Msg, reason string) error {
			return stream.SendToDeadLetters(ctx, js, topo, msg, reason)
		},
		CrashAfterCommit: crashAfterCommit,
	})
	jobs := map[string]func(context.Context) error{
		"relay": r.Run,
		"aparcadas": aparcadas.New(aparcadas.Options{Interval: cfg.ParkedInterval, MaxAge: cfg.ParkedMaxAge, Batch: cfg.BatchSize,
			Store: store, Topo: topo, Decode: decoder.Decode, Verificador: ver, Relay: r, Metrics: m, Log: log}).Run,
		// Always: the refresher also folds the counts the triggers append, metrics or not.
		"metrics": (&metrics.Refresher{M: m, Store: store, Consumer: cons, JS: js, Umbrales: cfg.Umbrales(), Interval: cfg.MetricsInterval,
			Log: log, Now: time.Now, Streams: []string{topo.StreamNotificaciones(), topo.StreamEventos(), topo.StreamDeadLetters()}}).Run,
	}
	if cfg.RegularizeEvery > 0 && reg != nil {
		jobs["programada"] = programada.New(cfg.regularizacion(), store, reg, log).Run
	}
	bctx, stopJobs := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for name, job := range jobs {
		wg.Go(func() {
			if err := job(bctx); err != nil {
				log.Error("job ended", "job", name, "err", err)
			}
		})
	}
	log.Info("reconciler running", "addr", srv.Addr, "subjects", topo.SubjectsNotificaciones(), "nats_identity", cfg.Identity(),
		"consumer", cfg.Consumer, "batch", cfg.BatchSize)
	werr := w.Run(ctx)
	stopJobs()
	wg.Wait()
	if errors.Is(werr, worker.ErrCrash) {
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
	nc, err := natsconn.Connect(cfg.NATSURL, cfg.Config, "reconciler", "reconciler", log)
	if err != nil {
		return nil, nil, nil, err
	}
	// The relay's asynchronous publishes: one that gets no answer (its stream leader died with
	// it) is dropped from nats.go's pending set after relay.AckWait, instead of holding a slot
	// until a reconnect that may never come; and the set holds what the relay may have in flight.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(relay.AckWait), jetstream.WithPublishAsyncMaxPending(relay.MaxPending))
	if err != nil {
		nc.Close()
		return nil, nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	var cons jetstream.Consumer
	err = retryStart(ctx, log, "declare streams", func() (err error) {
		cons, err = stream.Declare(ctx, js, topo, cfg.streamOptions())
		return err
	})
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	return nc, js, cons, nil
}

// serve serves h on addr (the variable named env) with ingest's limits and timeouts.
func serve(addr, env string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	return serveTLS(addr, env, "", "", h, log)
}

// serveTLS is serve over TLS when certFile is set.
func serveTLS(addr, env, certFile, keyFile string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	srv := httpapi.NewServer(h, 30*time.Second, log)
	done, err := httpapi.Serve(srv, addr, env, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	go func() {
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			log.Error("server", "addr", env, "err", err)
		}
	}()
	log.Info("listening", "addr", srv.Addr, "for", env)
	return srv, nil
}

// consoleBackend is what the console is served with.
type consoleBackend struct {
	store   *postgres.Store
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	topo    contracts.Topologia
	enFondo *programada.EnFondo // nil without NubeFacT
	metrics *metrics.Metrics
}

// serveConsole serves the ops console on CONSOLE_ADDR, or returns nil when it is off (no
// address, or no user in CONSOLE_USERS: there is no console without an account).
func serveConsole(cfg Config, c consoleBackend, log *slog.Logger) (*http.Server, error) {
	if cfg.ConsoleAddr == "" {
		return nil, nil
	}
	users, err := console.ParseUsuarios(cfg.ConsoleUsers)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if users.Len() == 0 {
		log.Info("console off: CONSOLE_USERS is empty (create an account with `reconciler console-user NAME`)")
		return nil, nil
	}
	var regularizar func(context.Context, estado.Filtro, string) (int64, error)
	if c.enFondo != nil {
		regularizar = c.enFondo.Regularizar
	}
	c.metrics.ConsolePasswordChecks(users.Comparaciones)
	h, err := console.New(console.Options{Store: c.store, Usuarios: users, Umbrales: cfg.Umbrales(), Regularizar: regularizar,
		// Zero fields (a Config built in code) take console.DefaultLoginLimits.
		Login:      console.LoginLimits{Failures: cfg.ConsoleLoginFailures, Window: cfg.ConsoleLoginWindow, Concurrency: cfg.ConsoleLoginConcurrency},
		Programada: cfg.RegularizeEvery, Log: log,
		DeadLetters: c.deadLetters,
		Reenviar: func(ctx context.Context, id string) error {
			_, err := reenvio.Reenviar(ctx, c.store, c.publish, c.topo, []string{id}, nil)
			return err
		},
		Health: c.health,
	})
	if err != nil {
		return nil, err
	}
	srv, err := serveTLS(cfg.ConsoleAddr, "CONSOLE_ADDR", cfg.ConsoleTLSCertFile, cfg.ConsoleTLSKeyFile, h, log)
	if err != nil {
		return nil, err
	}
	log.Info("console listening", "addr", srv.Addr, "tls", cfg.ConsoleTLSCertFile != "", "users", users.Len())
	return srv, nil
}

// deadLetters reads a page of the dead-letter stream for the console, newest first.
func (c consoleBackend) deadLetters(ctx context.Context, before uint64, limit int) ([]estado.DeadLetter, error) {
	return stream.DeadLetters(ctx, c.js, c.topo, before, limit)
}

func (c consoleBackend) publish(ctx context.Context, m contracts.Mensaje) error {
	return stream.Publish(ctx, c.js, m)
}

// health is the console's health line: Postgres, NATS, the consumer's backlog, the dead letters.
func (c consoleBackend) health(ctx context.Context) console.Health {
	s := console.Health{Postgres: c.store.Ping(ctx) == nil, NATS: c.nc.Status() == nats.CONNECTED, Cola: "desconocida", DeadLetters: "desconocida"}
	if info, err := c.cons.Info(ctx); err == nil {
		s.Cola = strconv.FormatUint(info.NumPending+uint64(info.NumAckPending), 10)
	}
	if st, err := c.js.Stream(ctx, c.topo.StreamDeadLetters()); err == nil {
		if info, err := st.Info(ctx); err == nil {
			s.DeadLetters = strconv.FormatUint(info.State.Msgs, 10)
		}
	}
	return s
}

// newVerificador is the webhooks' verification with NubeFacT when VERIFY_WEBHOOKS is on (nil
// otherwise).
func newVerificador(cfg Config, m *metrics.Metrics, log *slog.Logger) (*verificacion.Verificador, error) {
	if !cfg.VerifyWebhooks {
		return nil, nil
	}
	client, err := nubefact.New(cfg.NubefactRuta, cfg.NubefactToken, cfg.NubefactTimeout)
	if err != nil {
		return nil, err
	}
	// A webhook waits for its confirmation: one quick retry here, the rest is the redelivery's.
	client.Retries = 1
	client.Observe = m.NubefactCall
	return &verificacion.Verificador{Consultor: client, Rate: rate.New(cfg.VerifyRate), Concurrency: cfg.VerifyConcurrency,
		Intentos: cfg.VerifyRetries, Log: log}, nil
}

// newRegularizador is the service's regularizador (the schedule, the console): NubeFacT's
// client with the service's metrics, Postgres as source and record, JetStream to publish.
func newRegularizador(cfg Config, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, m *metrics.Metrics, log *slog.Logger) (*regularizacion.Regularizador, error) {
	client, err := nubefact.New(cfg.NubefactRuta, cfg.NubefactToken, cfg.NubefactTimeout)
	if err != nil {
		return nil, err
	}
	client.Retries, client.Backoff = cfg.NubefactRetries, cfg.NubefactBackoff
	client.Observe = m.NubefactCall
	return &regularizacion.Regularizador{Source: store, Consultor: client, Bitacora: store,
		Publisher: &stream.Publisher{JS: js, Topo: topo}, Observer: programada.LogObserver{Log: log}}, nil
}

// shutdown publishes what the outbox still holds, stops the health server and drains NATS.
func shutdown(ctx context.Context, cfg Config, r *relay.Relay, srv *http.Server, nc *nats.Conn, log *slog.Logger) {
	log.Info("shutting down")
	// A last sweep, so that a clean shutdown leaves no event for the next start to publish.
	r.Sweep(context.WithoutCancel(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := natsconn.Drain(nc, cfg.ShutdownTimeout); err != nil {
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

// retryStart runs f until it succeeds, ctx ends, or it fails in a way waiting cannot fix (Postgres
// refusing our credentials or database name: a configuration error to report at once).
func retryStart(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if postgres.IsConfigError(err) {
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
