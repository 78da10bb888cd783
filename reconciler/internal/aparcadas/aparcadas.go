// Package aparcadas applies the notifications that waited for their comprobante (aparcadas):
// the billing system's INSERT marks them ready (a trigger), and this job applies the ready ones
// every PARKED_INTERVAL, however long they waited, and discards those older than PARKED_MAX_AGE.
package aparcadas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/verificacion"
)

// Store keeps the aparcadas (postgres.Store).
type Store interface {
	MarcarListas(ctx context.Context, recientes time.Duration) (int64, error)
	ContarAparcadas(ctx context.Context) (int64, error)
	// AplicarListas applies ready aparcadas in one transaction.
	AplicarListas(ctx context.Context, topo contracts.Topologia, o estado.Listas) (tomadas []string, aplicadas []estado.Recibida, veredictos []estado.Veredicto, err error)
	// LeerListas claims ready aparcadas for o.Claim, locking nothing (to verify them), and
	// AplicarVerificadas applies those still ready, with what the verification set on them, while
	// esperar wait on.
	LeerListas(ctx context.Context, o estado.Listas) (tomadas []string, recibidas []estado.Recibida, err error)
	AplicarVerificadas(ctx context.Context, topo contracts.Topologia, recibidas []estado.Recibida, esperar []string) (tomadas []string, aplicadas []estado.Recibida, veredictos []estado.Veredicto, err error)
	Descartar(ctx context.Context, messageIDs []string, motivo string) ([]estado.Aparcada, error)
	DescartarAntiguas(ctx context.Context, maxEspera time.Duration, motivo string) ([]estado.Aparcada, error)
}

// Relay is woken when applied aparcadas wrote events (relay.Relay).
type Relay interface{ Wake() }

// Metrics counts the audit rows written (metrics.Metrics).
type Metrics interface{ Auditadas(rs []estado.Registro) }

// Options are the job's settings and what it works with.
type Options struct {
	Interval time.Duration // PARKED_INTERVAL
	MaxAge   time.Duration // PARKED_MAX_AGE
	Batch    int           // BATCH_SIZE
	Store    Store
	Topo     contracts.Topologia
	Decode   func([]byte) (contracts.Notificacion, error) // ENLACE_HOSTS, as the worker's
	// Verificador, when set (VERIFY_WEBHOOKS), confirms aparcada webhooks before they are applied.
	Verificador *verificacion.Verificador
	Relay       Relay
	Metrics     Metrics
	Log         *slog.Logger
}

// Job applies the ready aparcadas every Interval. Each tick also marks the recently parked ones
// whose comprobante was inserted while they were being parked (the trigger could not see them);
// once a minute it does so for all of them, and discards those older than MaxAge.
type Job struct{ Options }

// New is the job with o; Run starts it.
func New(o Options) *Job { return &Job{o} }

const (
	// claimDuration is how long the aparcadas read for verification stay claimed. Their
	// verification gets half of it (a BATCH_SIZE of the default 500 at the default VERIFY_RATE
	// takes 50 s); what NubeFacT has not answered by then keeps waiting, for the next sweep.
	claimDuration = 5 * time.Minute
	// mantenimiento is how often the slower sweeps run.
	mantenimiento = time.Minute
	// recientes bounds the tick's sweep: a parking transaction lasts far less (a batch is bounded
	// by SHUTDOWN_TIMEOUT).
	recientes = time.Minute
)

// Run works until ctx ends.
func (a *Job) Run(ctx context.Context) error {
	tick := time.NewTicker(a.Interval)
	defer tick.Stop()
	slow := time.NewTicker(mantenimiento)
	defer slow.Stop()
	a.housekeep(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := a.Store.MarcarListas(ctx, recientes); err != nil && ctx.Err() == nil {
				a.Log.Warn("checking recently parked notifications failed", "err", err)
			}
			// Folds the count's deltas, so that each batch's check of PARKED_MAX reads a few rows.
			if _, err := a.Store.ContarAparcadas(ctx); err != nil && ctx.Err() == nil {
				a.Log.Warn("counting parked notifications failed", "err", err)
			}
			a.aplicarListas(ctx)
		case <-slow.C:
			a.housekeep(ctx)
		}
	}
}

// aplicarListas applies ready notifications, a batch per transaction, until none is left.
func (a *Job) aplicarListas(ctx context.Context) {
	for ctx.Err() == nil {
		tomadas, aplicadas, veredictos, err := a.aplicar(ctx, a.Batch, nil)
		if maybeMessageFault(err) {
			// One notification Postgres refuses must not hold back the others.
			err = a.oneByOne(ctx, tomadas)
		}
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Warn("applying parked notifications failed; will retry", "err", err)
			}
			return
		}
		a.notifyRelay(veredictos)
		a.Metrics.Auditadas(estado.Registros(aplicadas, veredictos))
		if len(tomadas) < a.Batch {
			return
		}
	}
}

// oneByOne applies the parked notifications ids one at a time, and discards (audited) each
// one Postgres still refuses on its own.
func (a *Job) oneByOne(ctx context.Context, ids []string) error {
	for _, id := range ids {
		_, aplicadas, veredictos, err := a.aplicar(ctx, 1, []string{id})
		switch {
		case maybeMessageFault(err):
			a.Log.Warn("parked notification refused by postgres: discarded", "id", id, "err", err)
			if _, err := a.Store.Descartar(ctx, []string{id}, "postgres la rechazó: "+err.Error()); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		a.notifyRelay(veredictos)
		a.Metrics.Auditadas(estado.Registros(aplicadas, veredictos))
	}
	return nil
}

// aplicar applies, in one transaction, up to limit ready aparcadas (those of ids, when given).
// With a Verificador their webhooks are confirmed with NubeFacT first, before the transaction
// opens: no row is locked while NubeFacT is asked, and those it cannot confirm yet keep waiting.
func (a *Job) aplicar(ctx context.Context, limit int, ids []string) (tomadas []string, aplicadas []estado.Recibida, veredictos []estado.Veredicto, err error) {
	o := estado.Listas{Limit: limit, IDs: ids, Decode: a.Decode}
	if a.Verificador == nil {
		return a.Store.AplicarListas(ctx, a.Topo, o)
	}
	o.Claim = claimDuration
	tomadas, recibidas, err := a.Store.LeerListas(ctx, o)
	if err != nil || len(recibidas) == 0 {
		return tomadas, nil, nil, err
	}
	// Well inside the claim: what NubeFacT has not answered by then keeps waiting.
	vctx, cancel := context.WithTimeout(ctx, claimDuration/2)
	esperar := a.Verificador.Aparcadas(vctx, recibidas)
	cancel()
	_, aplicadas, veredictos, err = a.Store.AplicarVerificadas(ctx, a.Topo, recibidas, esperar)
	return tomadas, aplicadas, veredictos, err
}

// notifyRelay signals the relay if an event was written, and logs what was applied.
func (a *Job) notifyRelay(veredictos []estado.Veredicto) {
	eventos := 0
	for _, s := range veredictos {
		if s.EventID != "" {
			eventos++
		}
	}
	if eventos > 0 {
		a.Relay.Wake()
	}
	if len(veredictos) > 0 {
		a.Log.Info("parked notifications applied: their comprobantes were inserted", "count", len(veredictos), "events", eventos)
	}
}

func (a *Job) housekeep(ctx context.Context) {
	if n, err := a.Store.MarcarListas(ctx, 0); err != nil {
		a.Log.Warn("checking parked notifications failed", "err", err)
	} else if n > 0 {
		a.Log.Info("parked notifications found ready", "count", n)
		a.aplicarListas(ctx)
	}
	motivo := fmt.Sprintf("su comprobante no apareció en %s (PARKED_MAX_AGE)", a.MaxAge)
	for ctx.Err() == nil {
		caducadas, err := a.Store.DescartarAntiguas(ctx, a.MaxAge, motivo)
		if err != nil {
			a.Log.Warn("discarding expired parked notifications failed", "err", err)
			return
		}
		for _, c := range caducadas {
			a.Metrics.Auditadas([]estado.Registro{{Efecto: estado.Descartado, Origen: c.Origen}})
			a.Log.Warn("parked notification discarded: its comprobante never appeared", "id", c.MessageID,
				"efecto", estado.Descartado, "waited", time.Since(c.AparcadaEn).Round(time.Second))
		}
		if len(caducadas) < estado.DescartesPorLlamada {
			return
		}
	}
}

// maybeMessageFault reports whether the store says (postgres.Error) that the notifications
// themselves may have caused err, rather than an outage.
func maybeMessageFault(err error) bool {
	var f interface{ MaybeMessageFault() bool }
	return errors.As(err, &f) && f.MaybeMessageFault()
}
