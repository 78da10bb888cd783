package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
)

// aparcadas applies the notifications that waited for their comprobante: the billing system's
// INSERT marks them ready (a trigger), and this loop applies the ready ones every
// PARKED_INTERVAL, however long they waited. Each tick also marks the recently parked ones whose
// comprobante was inserted while they were being parked (the trigger could not see them); once a
// minute it does so for all of them, and discards those older than PARKED_MAX_AGE.
type aparcadas struct {
	store    *postgres.Store
	topo     contracts.Topologia
	decode   func([]byte) (contracts.Notificacion, error)
	log      *slog.Logger
	interval time.Duration
	maxAge   time.Duration
	batch    int
	// preparar, when set (VERIFY_WEBHOOKS), confirms parked webhooks before they are applied.
	preparar  func(context.Context, []estado.Recibida) map[string]bool
	aplicados chan<- struct{}
	metrics   *metrics
}

const (
	// mantenimiento is how often the slower sweeps run.
	mantenimiento = time.Minute
	// recientes bounds the tick's sweep: a parking transaction lasts far less (a batch is bounded
	// by SHUTDOWN_TIMEOUT).
	recientes = time.Minute
)

func (a *aparcadas) run(ctx context.Context) {
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	slow := time.NewTicker(mantenimiento)
	defer slow.Stop()
	a.housekeep(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := a.store.MarcarListas(ctx, recientes); err != nil && ctx.Err() == nil {
				a.log.Warn("checking recently parked notifications failed", "err", err)
			}
			// Folds the count's deltas, so that each batch's check of PARKED_MAX reads a few rows.
			if _, err := a.store.ContarAparcadas(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("counting parked notifications failed", "err", err)
			}
			a.aplicarListas(ctx)
		case <-slow.C:
			a.housekeep(ctx)
		}
	}
}

// aplicarListas applies ready notifications, a batch per transaction, until none is left.
func (a *aparcadas) aplicarListas(ctx context.Context) {
	for ctx.Err() == nil {
		tomadas, aplicadas, veredictos, err := a.store.AplicarListas(ctx, a.topo, a.options(a.batch, nil))
		if postgres.PuedeSerElMensaje(err) {
			// One notification Postgres refuses must not hold back the others.
			err = a.oneByOne(ctx, tomadas)
		}
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("applying parked notifications failed; will retry", "err", err)
			}
			return
		}
		a.notifyRelay(veredictos)
		a.metrics.audited(estado.Registros(aplicadas, veredictos))
		if len(tomadas) < a.batch {
			return
		}
	}
}

// oneByOne applies the parked notifications ids one at a time, and discards (audited) each
// one Postgres still refuses on its own.
func (a *aparcadas) oneByOne(ctx context.Context, ids []string) error {
	for _, id := range ids {
		_, aplicadas, veredictos, err := a.store.AplicarListas(ctx, a.topo, a.options(1, []string{id}))
		switch {
		case postgres.PuedeSerElMensaje(err):
			a.log.Warn("parked notification refused by postgres: discarded", "id", id, "err", err)
			if _, err := a.store.Descartar(ctx, []string{id}, "postgres la rechazó: "+err.Error()); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		a.notifyRelay(veredictos)
		a.metrics.audited(estado.Registros(aplicadas, veredictos))
	}
	return nil
}

func (a *aparcadas) options(limit int, ids []string) postgres.ListasOptions {
	return postgres.ListasOptions{Limit: limit, IDs: ids, Decode: a.decode, Prepare: a.preparar}
}

// notifyRelay signals the relay if an event was written, and logs what was applied.
func (a *aparcadas) notifyRelay(veredictos []estado.Veredicto) {
	eventos := 0
	for _, s := range veredictos {
		if s.EventID != "" {
			eventos++
		}
	}
	if eventos > 0 {
		select {
		case a.aplicados <- struct{}{}:
		default:
		}
	}
	if len(veredictos) > 0 {
		a.log.Info("parked notifications applied: their comprobantes were inserted", "count", len(veredictos), "events", eventos)
	}
}

func (a *aparcadas) housekeep(ctx context.Context) {
	if n, err := a.store.MarcarListas(ctx, 0); err != nil {
		a.log.Warn("checking parked notifications failed", "err", err)
	} else if n > 0 {
		a.log.Info("parked notifications found ready", "count", n)
		a.aplicarListas(ctx)
	}
	motivo := fmt.Sprintf("su comprobante no apareció en %s (PARKED_MAX_AGE)", a.maxAge)
	for ctx.Err() == nil {
		caducadas, err := a.store.DescartarAntiguas(ctx, a.maxAge, motivo)
		if err != nil {
			a.log.Warn("discarding expired parked notifications failed", "err", err)
			return
		}
		for _, c := range caducadas {
			a.metrics.audited([]estado.Registro{{Efecto: estado.Descartado, Origen: c.Origen}})
			a.log.Warn("parked notification discarded: its comprobante never appeared", "id", c.MessageID,
				"efecto", estado.Descartado, "waited", time.Since(c.AparcadaEn).Round(time.Second))
		}
		if len(caducadas) < postgres.LoteDescarte {
			return
		}
	}
}
