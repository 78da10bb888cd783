// Package programada runs regularizaciones from within the reconciler: on a schedule
// (REGULARIZE_EVERY, the safety net for lost webhooks) and, in the background, those started
// from the console. Both hold the regularizaciones' advisory lock, so that two never ask NubeFacT
// at once, whichever reconciler runs them.
package programada

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
)

// Store holds the lock and the record of runs (postgres.Store).
type Store interface {
	// UnaRegularizacionALaVez runs f holding the regularizaciones' advisory lock, and
	// reports false (f not run) when another holds it.
	UnaRegularizacionALaVez(ctx context.Context, f func(context.Context) error) (bool, error)
	UltimaRegularizacion(ctx context.Context, origen string) (time.Time, error)
}

// Regularizador runs one regularizacion (regularizacion.Regularizador).
type Regularizador interface {
	Run(ctx context.Context, o regularizacion.Options, c *regularizacion.Counters) (regularizacion.Summary, error)
}

// Options are the runs' settings (REGULARIZE_*).
type Options struct {
	Every             time.Duration // REGULARIZE_EVERY: the schedule's period
	OlderThan         time.Duration // REGULARIZE_OLDER_THAN: the schedule's filter
	Concurrency       int
	Rate              float64
	MaxFallasSeguidas int
}

func (o Options) run(origen string, f estado.Filtro) regularizacion.Options {
	return regularizacion.Options{Origen: origen, Filtro: f, Concurrency: o.Concurrency, Rate: o.Rate, MaxFallasSeguidas: o.MaxFallasSeguidas}
}

// Job is the regularizacion safety net (REGULARIZE_EVERY): every round it asks NubeFacT about
// the comprobantes pending for longer than OlderThan, with the same rules as `reconciler
// regularize`, and records the round in the regularizaciones table. When webhooks arrive as they
// should nothing is that old, and a round makes no call.
type Job struct {
	o     Options
	store Store
	r     Regularizador
	log   *slog.Logger
}

// New is the schedule; Run starts it.
func New(o Options, store Store, r Regularizador, log *slog.Logger) *Job {
	return &Job{o: o, store: store, r: r, log: log}
}

// ErrOcupado: a regularizacion holds the lock (a scheduled round, or another from the console).
var ErrOcupado = errors.New("otra regularización está en curso: espere a que termine (página Regularizaciones)")

// EnFondo starts the console's regularizaciones in the background, within the service's life:
// a shutdown (life cancelled) interrupts them, their records say so, and Wait waits for them.
type EnFondo struct {
	life  context.Context
	o     Options
	store Store
	r     Regularizador
	log   *slog.Logger
	runs  sync.WaitGroup
}

// NewEnFondo is where the console's runs live until life ends.
func NewEnFondo(life context.Context, o Options, store Store, r Regularizador, log *slog.Logger) *EnFondo {
	return &EnFondo{life: life, o: o, store: store, r: r, log: log}
}

// Wait waits for the runs started, once life has ended.
func (e *EnFondo) Wait() { e.runs.Wait() }

// Regularizar starts a run for the console, under the advisory lock, and returns its record's
// id (or ErrOcupado). usuario is who asked, for the log.
func (e *EnFondo) Regularizar(_ context.Context, f estado.Filtro, usuario string) (int64, error) {
	ids, errc := make(chan int64, 1), make(chan error, 1)
	e.runs.Go(func() {
		ran, err := e.store.UnaRegularizacionALaVez(e.life, func(ctx context.Context) error {
			o := e.o.run(estado.RegularizacionConsola, f)
			o.Iniciada = func(id int64) { ids <- id }
			res, err := e.r.Run(ctx, o, &regularizacion.Counters{})
			e.log.Info("console regularization ended", "user", usuario, "pendientes", res.Total, "aceptadas", res.Aceptadas, "err", err)
			return err
		})
		if !ran && err == nil {
			err = ErrOcupado
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

// Run holds a round every Every until ctx ends.
func (p *Job) Run(ctx context.Context) error {
	tick := time.NewTicker(p.o.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			p.round(ctx)
		}
	}
}

// round runs one round unless another reconciler holds the lock or started a round less than
// half a period ago (their tickers are not aligned).
func (p *Job) round(ctx context.Context) {
	_, err := p.store.UnaRegularizacionALaVez(ctx, func(ctx context.Context) error {
		last, err := p.store.UltimaRegularizacion(ctx, estado.RegularizacionProgramada)
		if err != nil || time.Since(last) < p.o.Every/2 {
			return err
		}
		o := p.o.run(estado.RegularizacionProgramada, estado.Filtro{EmitidosAntesDe: time.Now().Add(-p.o.OlderThan)})
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
		p.log.Error("scheduled regularization stopped: the next round tries again", "err", err, "what_to_do", queHacer(err))
	}
}

// queHacer is what the error (nubefact.Error) says the operator should fix, or "".
func queHacer(err error) string {
	var q interface{ QueHacer() string }
	if errors.As(err, &q) {
		return q.QueHacer()
	}
	return ""
}

// LogObserver logs the comprobantes a scheduled round could not resolve.
type LogObserver struct{ Log *slog.Logger }

func (o LogObserver) NoResuelto(f regularizacion.Linea) {
	o.Log.Warn("scheduled regularization: comprobante not resolved", "comprobante", f.Clave.String(),
		"motivo", f.Motivo, "detalle", f.Detalle)
}

func (LogObserver) WouldPublish(contracts.Notificacion, string) {}
