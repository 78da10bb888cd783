// Package relay publishes the outbox to JetStream: the events of each batch the worker commits,
// handed over at once, and whatever a crash or an outage left behind, by sweeping the outbox.
package relay

import (
	"context"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Outbox is the store the relay reads and records (postgres.Store).
type Outbox interface {
	// Relay claims up to limit unpublished events for claim, calls publish with them and
	// deletes those whose outbox IDs it returns; it returns how many it deleted.
	Relay(ctx context.Context, limit int, claim time.Duration, publish func(context.Context, []estado.EventoPendiente) []int64) (int, error)
	// Terminados deletes the published events and releases the claim on the failed ones.
	Terminados(ctx context.Context, published, failed []string) error
}

// Publisher is the part of jetstream.JetStream the relay publishes with.
type Publisher interface {
	PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// Metrics counts the events JetStream acknowledged (metrics.Metrics).
type Metrics interface {
	Published(tipo string)
}

// Relay publishes the outbox to JetStream. The events of a batch the worker has just committed
// come to it at once (HandOff) and are published without reading the outbox back; a sweep of
// the outbox, on a timer and when another job wakes it (Wake), publishes whatever a crash, an
// outage or a full hand-off left behind.
type Relay struct {
	store    Outbox
	js       Publisher
	log      *slog.Logger
	wake     chan struct{}
	directos chan []estado.EventoPendiente
	interval time.Duration
	topo     contracts.Topologia
	metrics  Metrics
}

const (
	relayBatch = 1000
	// AckWait bounds the wait for JetStream's acknowledgements of one batch (they take
	// milliseconds when NATS is up); sweepClaim, the claim on its rows, outlasts it so that no
	// other relay takes them meanwhile, and is what delays the events of a relay that died.
	AckWait    = 5 * time.Second
	sweepClaim = 10 * time.Second
	// CommittedClaim is the claim on the events of a batch the worker hands over at its commit:
	// what delays them when the instance dies right after the commit, so short; yet far above
	// the time the relay takes to publish them (milliseconds: docs/performance.md has the
	// measured figures). Should it expire while they are still in flight (JetStream slow or
	// away), a sweep publishes them again under the same event ID, which JetStream discards.
	CommittedClaim = 2 * time.Second
	// handOffBuffer is how many committed batches may wait for the relay before the worker
	// stops handing them over and leaves them to a sweep.
	handOffBuffer = 64
	// inflightBatches bounds the batches sent and waiting for their acknowledgements beyond the
	// one being waited for.
	inflightBatches = 3
	// MaxPending is the room for asynchronous publishes in flight (nats.go's default is
	// 4,000): the batches in flight (inflightBatches, the one being waited for, the one being
	// sent: each relayBatch events, or one worker batch more once coalesced) and a sweep's.
	MaxPending = 16 << 10
)

// New is a relay that sweeps the outbox every interval (RELAY_INTERVAL). js must have room
// for MaxPending asynchronous publishes and give up on one after AckWait.
func New(store Outbox, js Publisher, topo contracts.Topologia, interval time.Duration, m Metrics, log *slog.Logger) *Relay {
	return &Relay{store: store, js: js, log: log, wake: make(chan struct{}, 1), interval: interval, topo: topo, metrics: m,
		directos: make(chan []estado.EventoPendiente, handOffBuffer)}
}

// Wake asks for a sweep of the outbox soon (another job wrote events the relay was not handed).
// It never blocks.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends, then waits for the acknowledgements of what it sent and gives
// back the claims of what it was handed but did not send. Sweep is the last word on shutdown.
func (r *Relay) Run(ctx context.Context) error {
	// The loop only sends; a second goroutine waits for the acknowledgements and records them,
	// so that the next committed batch goes out while the previous one is being acknowledged.
	inflight := make(chan sent, inflightBatches)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r.finish(ctx, inflight)
	}()
	defer func() {
		close(inflight)
		<-finished
		r.release()
	}()
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	// Whatever a crash left unpublished goes out first.
	r.Sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case eventos := <-r.directos:
			eventos = r.coalesce(eventos)
			inflight <- sent{eventos, r.send(eventos), time.Now().Add(AckWait)}
		case <-r.wake:
			r.Sweep(ctx)
		case <-tick.C:
			r.Sweep(ctx)
		}
	}
}

// sent is a batch of committed events in flight to JetStream, with what will acknowledge them
// and until when they are waited for (AckWait after the send: batches sent one after another
// while JetStream is away time out together, not one after another).
type sent struct {
	eventos  []estado.EventoPendiente
	acks     []jetstream.PubAckFuture
	deadline time.Time
}

// finish waits for the acknowledgements of each batch the loop sent and records the outcome in
// the outbox: published events leave it, the others lose their claim, for the next sweep. It
// returns once inflight is closed and drained: the acknowledgements of what was sent before a
// shutdown are still waited for (AckWait at most), so that it is not published twice.
func (r *Relay) finish(ctx context.Context, inflight <-chan sent) {
	ctx = context.WithoutCancel(ctx)
	for v := range inflight {
		actx, acancel := context.WithDeadline(ctx, v.deadline)
		ok := r.await(actx, v.eventos, v.acks)
		acancel()
		var published, failed []string
		for i, ev := range v.eventos {
			if ok[i] {
				published = append(published, ev.EventID)
			} else {
				failed = append(failed, ev.EventID)
			}
		}
		// Never waiting on a Postgres that hangs: a lost update costs a republish under the
		// same event ID once the claim expires.
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := r.store.Terminados(dctx, published, failed); err != nil {
			r.log.Warn("outbox: recording published events failed; they will be published again under the same ID", "err", err)
		}
		cancel()
	}
}

// HandOff gives the relay the events of a batch just committed (written claimed, see
// postgres.Store.Aplicar with a claim). It never blocks the worker: when the relay is that far behind
// (JetStream slow or away), the events lose their claim and wait for the next sweep.
func (r *Relay) HandOff(ctx context.Context, eventos []estado.EventoPendiente) {
	if len(eventos) == 0 {
		return
	}
	select {
	case r.directos <- eventos:
		return
	default:
	}
	ids := make([]string, len(eventos))
	for i, ev := range eventos {
		ids[i] = ev.EventID
	}
	if err := r.store.Terminados(ctx, nil, ids); err != nil {
		r.log.Warn("outbox: releasing events the relay had no room for; they go out when their claim expires", "events", len(ids), "err", err)
	}
}

// coalesce adds to eventos the batches already waiting until it holds relayBatch events or more
// (relayBatch and one worker batch at most), so that one round of acknowledgements covers them.
func (r *Relay) coalesce(eventos []estado.EventoPendiente) []estado.EventoPendiente {
	for len(eventos) < relayBatch {
		select {
		case more := <-r.directos:
			eventos = append(eventos, more...)
		default:
			return eventos
		}
	}
	return eventos
}

// release gives back, when the relay stops, the claims of events handed over but not published,
// so that another instance (or this one, restarted) publishes them at once rather than after
// the claim expires.
func (r *Relay) release() {
	var ids []string
	for {
		select {
		case eventos := <-r.directos:
			for _, ev := range eventos {
				ids = append(ids, ev.EventID)
			}
			continue
		default:
		}
		break
	}
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.store.Terminados(ctx, nil, ids); err != nil {
		r.log.Warn("outbox: releasing unpublished events on shutdown failed; they go out when their claim expires", "events", len(ids), "err", err)
	}
}

// Sweep relays until the outbox has no more unpublished events (or publishing fails).
func (r *Relay) Sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		n, err := r.store.Relay(ctx, relayBatch, sweepClaim, r.publishOutbox)
		if err != nil {
			r.log.Warn("outbox relay failed; will retry", "err", err)
			return
		}
		if n < relayBatch {
			return
		}
	}
}

// publishOutbox publishes events claimed from the outbox and returns the outbox IDs of those
// JetStream acknowledged.
func (r *Relay) publishOutbox(ctx context.Context, eventos []estado.EventoPendiente) []int64 {
	ok := r.publish(ctx, eventos)
	var ids []int64
	for i, ev := range eventos {
		if ok[i] {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// publish sends the events asynchronously (all in flight at once) and reports, for each, whether
// JetStream acknowledged it, waiting at most AckWait and never past ctx. The Nats-Msg-Id is
// the event ID, so a republish after a crash is recognised as a duplicate.
func (r *Relay) publish(ctx context.Context, eventos []estado.EventoPendiente) []bool {
	return r.await(ctx, eventos, r.send(eventos))
}

// send publishes the events asynchronously and returns their acknowledgements to come (nil for
// an event that could not even be sent).
func (r *Relay) send(eventos []estado.EventoPendiente) []jetstream.PubAckFuture {
	acks := make([]jetstream.PubAckFuture, len(eventos))
	for i, ev := range eventos {
		msg := nats.NewMsg(ev.Subject)
		msg.Data = ev.Evento
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(ev.EventID))
		if err != nil {
			r.log.Warn("publish event", "event_id", ev.EventID, "err", err)
			continue
		}
		acks[i] = f
	}
	return acks
}

// await reports, for each event sent, whether JetStream acknowledged it, waiting at most
// AckWait and never past ctx.
func (r *Relay) await(ctx context.Context, eventos []estado.EventoPendiente, acks []jetstream.PubAckFuture) []bool {
	ok := make([]bool, len(eventos))
	ctx, cancel := context.WithTimeout(ctx, AckWait)
	defer cancel()
	settle := func(i int, f jetstream.PubAckFuture, err error) {
		if err != nil {
			r.log.Warn("event not acknowledged", "subject", f.Msg().Subject, "err", err)
			return
		}
		ok[i] = true
		r.metrics.Published(r.topo.TipoDeSubject(eventos[i].Subject))
	}
	for i, f := range acks {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
			settle(i, f, nil)
		case err := <-f.Err():
			settle(i, f, err)
		case <-ctx.Done():
			// Out of time: what is already acknowledged still counts (a select among ready
			// cases picks at random), the rest is retried.
			pending := 0
			for j := i; j < len(acks); j++ {
				if acks[j] == nil {
					continue
				}
				select {
				case <-acks[j].Ok():
					settle(j, acks[j], nil)
				case err := <-acks[j].Err():
					settle(j, acks[j], err)
				default:
					pending++
				}
			}
			r.log.Warn("event acknowledgements timed out; will retry", "pending", pending)
			return ok
		}
	}
	return ok
}
