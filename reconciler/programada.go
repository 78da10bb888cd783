package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/nats-io/nats.go/jetstream"
)

// programada is the regularization safety net (REGULARIZE_EVERY): every round it asks NubeFacT
// about the comprobantes pending for longer than REGULARIZE_OLDER_THAN, with the same rules as
// `reconciler regularize`, and records the round in the regularizaciones table. When webhooks
// arrive as they should nothing is that old, and a round makes no call.
type programada struct {
	store     *postgres.Store
	r         *regularizacion.Regularizador
	every     time.Duration
	olderThan time.Duration
	options   regularizacion.Options
	log       *slog.Logger
}

func newProgramada(cfg Config, r *regularizacion.Regularizador, store *postgres.Store, log *slog.Logger) *programada {
	return &programada{
		store: store, every: cfg.RegularizeEvery, olderThan: cfg.RegularizeOlderThan, log: log, r: r,
		options: regularizacion.Options{Origen: estado.RegularizacionProgramada,
			Concurrency: cfg.RegularizeConcurrency, Rate: cfg.RegularizeRate, MaxFallasSeguidas: cfg.RegularizeMaxFailures},
	}
}

// newRegularizador is the service's regularizer (the schedule, the console): NubeFacT's
// client with the service's metrics, Postgres as source and record, JetStream to publish.
func newRegularizador(cfg Config, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, m *metrics, log *slog.Logger) (*regularizacion.Regularizador, error) {
	client, err := nubefact.New(cfg.NubefactRuta, cfg.NubefactToken, cfg.NubefactTimeout)
	if err != nil {
		return nil, err
	}
	client.Retries, client.Backoff = cfg.NubefactRetries, cfg.NubefactBackoff
	client.Observe = m.nubefactCall
	return &regularizacion.Regularizador{Source: store, Consultor: client, Bitacora: store,
		Publisher: &stream.Publisher{JS: js, Topo: topo}, Observer: logObserver{log}}, nil
}

// errOcupado: a regularization holds the lock (a scheduled round, or another from the console).
var errOcupado = errors.New("otra regularización está en curso: espere a que termine (página Regularizaciones)")

// regularizarEnFondo starts a run for the console in the background, within the service's
// life (a shutdown interrupts it, its record says so, and runs waits for it before the pool
// closes), under the regularizations' advisory lock so that two runs never ask NubeFacT at
// once, and returns its record's id.
func regularizarEnFondo(life context.Context, cfg Config, store *postgres.Store, r *regularizacion.Regularizador, runs *sync.WaitGroup, log *slog.Logger) func(context.Context, estado.Filtro, string) (int64, error) {
	return func(_ context.Context, f estado.Filtro, usuario string) (int64, error) {
		ids, errc := make(chan int64, 1), make(chan error, 1)
		runs.Go(func() {
			ran, err := store.ConCandadoDeRegularizacion(life, func(ctx context.Context) error {
				res, err := r.Run(ctx, regularizacion.Options{Origen: estado.RegularizacionConsola, Filtro: f,
					Concurrency: cfg.RegularizeConcurrency, Rate: cfg.RegularizeRate, MaxFallasSeguidas: cfg.RegularizeMaxFailures,
					Iniciada: func(id int64) { ids <- id }},
					&regularizacion.Counters{})
				log.Info("console regularization ended", "user", usuario, "pendientes", res.Total, "aceptadas", res.Aceptadas, "err", err)
				return err
			})
			if !ran && err == nil {
				err = errOcupado
			}
			errc <- err
		})
		// Not the request's context: once started, the run's id is what the page needs.
		select {
		case id := <-ids:
			return id, nil
		case err := <-errc:
			select {
			case id := <-ids:
				return id, nil
			default:
				return 0, err
			}
		}
	}
}

func (p *programada) run(ctx context.Context) {
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.round(ctx)
		}
	}
}

// round runs one round unless another reconciler holds the lock or started a round less than
// half a period ago (their tickers are not aligned).
func (p *programada) round(ctx context.Context) {
	_, err := p.store.ConCandadoDeRegularizacion(ctx, func(ctx context.Context) error {
		last, err := p.store.UltimaRegularizacion(ctx, estado.RegularizacionProgramada)
		if err != nil || time.Since(last) < p.every/2 {
			return err
		}
		o := p.options
		o.Filtro.EmitidosAntesDe = time.Now().Add(-p.olderThan)
		res, err := p.r.Run(ctx, o, &regularizacion.Counters{})
		level := slog.LevelDebug
		if res.Total > 0 || err != nil {
			level = slog.LevelInfo
		}
		p.log.Log(ctx, level, "scheduled regularization", "pendientes", res.Total, "consultados", res.Consultados,
			"aceptadas", res.Aceptadas, "rechazadas", res.Rechazadas, "anuladas", res.Anuladas,
			"no_existe", res.NoExiste, "errores", res.Errores, "publicadas", res.Publicadas)
		return err
	})
	if err != nil && ctx.Err() == nil {
		p.log.Error("scheduled regularization stopped: the next round tries again", "err", err, "what_to_do", nubefact.QueHacer(err))
	}
}

// logObserver logs the comprobantes a scheduled round could not resolve.
type logObserver struct{ log *slog.Logger }

func (o logObserver) NoResuelto(f regularizacion.Fila) {
	o.log.Warn("scheduled regularization: comprobante not resolved", "comprobante", f.Clave.String(),
		"motivo", f.Motivo, "detalle", f.Detalle)
}

func (logObserver) WouldPublish(contracts.Notificacion, string) {}
