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
// PARKED_INTERVAL, however long they waited. Once a minute it also marks those a concurrent
// INSERT hid from the trigger, and discards those older than PARKED_MAX_AGE.
type aparcadas struct {
	store     *postgres.Store
	topo      contracts.Topologia
	decode    func([]byte) (contracts.Notificacion, error)
	log       *slog.Logger
	interval  time.Duration
	maxAge    time.Duration
	batch     int
	aplicados chan<- struct{}
}

// mantenimiento is how often the slower sweeps run.
const mantenimiento = time.Minute

func (a *aparcadas) run(ctx context.Context) {
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	slow := time.NewTicker(mantenimiento)
	defer slow.Stop()
	a.mantener(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.aplicarListas(ctx)
		case <-slow.C:
			a.mantener(ctx)
		}
	}
}

// aplicarListas applies ready notifications, a batch per transaction, until none is left.
func (a *aparcadas) aplicarListas(ctx context.Context) {
	for ctx.Err() == nil {
		salidas, err := a.store.AplicarListas(ctx, a.batch, a.topo, a.decode)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("applying parked notifications failed; will retry", "err", err)
			}
			return
		}
		aplicadas := 0
		for _, s := range salidas {
			if s.EventID != "" {
				aplicadas++
			}
		}
		if aplicadas > 0 {
			select {
			case a.aplicados <- struct{}{}:
			default:
			}
		}
		if len(salidas) > 0 {
			a.log.Info("parked notifications applied: their comprobantes were inserted", "count", len(salidas), "changed", aplicadas)
		}
		if len(salidas) < a.batch {
			return
		}
	}
}

func (a *aparcadas) mantener(ctx context.Context) {
	if n, err := a.store.MarcarListas(ctx); err != nil {
		a.log.Warn("checking parked notifications failed", "err", err)
	} else if n > 0 {
		a.log.Info("parked notifications found ready", "count", n)
		a.aplicarListas(ctx)
	}
	caducadas, err := a.store.DescartarAntiguas(ctx, a.maxAge,
		fmt.Sprintf("su comprobante no apareció en %s (PARKED_MAX_AGE)", a.maxAge))
	if err != nil {
		a.log.Warn("discarding expired parked notifications failed", "err", err)
		return
	}
	for _, c := range caducadas {
		a.log.Warn("parked notification discarded: its comprobante never appeared", "id", c.MessageID,
			"efecto", estado.Descartado, "waited", time.Since(c.AparcadaEn).Round(time.Second))
	}
}
