package reconciler

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// relay publishes the outbox to JetStream: at once when the worker signals a commit, and on a
// timer for whatever a crash or an outage left behind.
type relay struct {
	store     *postgres.Store
	js        jetstream.JetStream
	log       *slog.Logger
	aplicados <-chan struct{}
	interval  time.Duration
	topo      contracts.Topologia
	metrics   *metrics
}

const (
	relayBatch = 1000
	// relayAckWait bounds the wait for JetStream's acknowledgements of one batch (they take
	// milliseconds when NATS is up); relayLease, the claim on its rows, outlasts it so that no
	// other relay takes them meanwhile, and is what delays the events of a relay that died.
	relayAckWait = 5 * time.Second
	relayLease   = 10 * time.Second
)

func (r *relay) run(ctx context.Context) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	// Whatever a crash left unpublished goes out first.
	r.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.aplicados:
		case <-tick.C:
		}
		r.sweep(ctx)
	}
}

// sweep relays until the outbox has no more unpublished events (or publishing fails).
func (r *relay) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		n, err := r.store.Relay(ctx, relayBatch, relayLease, r.publish)
		if err != nil {
			r.log.Warn("outbox relay failed; will retry", "err", err)
			return
		}
		if n < relayBatch {
			return
		}
	}
}

// publish sends the events asynchronously (all in flight at once) and returns the outbox IDs
// of those JetStream acknowledged, waiting at most relayAckWait and never past ctx. The
// Nats-Msg-Id is the event ID, so a republish after a crash is recognised as a duplicate.
func (r *relay) publish(ctx context.Context, eventos []postgres.EventoPendiente) []int64 {
	type enVuelo struct {
		id      int64
		subject string
		ack     jetstream.PubAckFuture
	}
	pending := make([]enVuelo, 0, len(eventos))
	for _, ev := range eventos {
		msg := nats.NewMsg(ev.Subject)
		msg.Data = ev.Evento
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(ev.EventID))
		if err != nil {
			r.log.Warn("publish event", "event_id", ev.EventID, "err", err)
			continue
		}
		pending = append(pending, enVuelo{ev.ID, ev.Subject, f})
	}
	ctx, cancel := context.WithTimeout(ctx, relayAckWait)
	defer cancel()
	var ok []int64
	for _, p := range pending {
		select {
		case <-p.ack.Ok():
			ok = append(ok, p.id)
			r.metrics.published(r.topo.TipoDeSubject(p.subject))
		case err := <-p.ack.Err():
			r.log.Warn("event not acknowledged", "subject", p.ack.Msg().Subject, "err", err)
		case <-ctx.Done():
			r.log.Warn("event acknowledgements timed out; will retry", "pending", len(pending)-len(ok))
			return ok
		}
	}
	return ok
}
