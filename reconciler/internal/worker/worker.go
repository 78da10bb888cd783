// Package worker consumes the notifications subject and applies what it fetched, a batch per
// Postgres transaction, acknowledging each message only after its batch has committed; the
// events of the batch go to the relay at once. With VERIFY_WEBHOOKS each webhook is confirmed
// with NubeFacT first (package verificacion), before the transaction opens.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/retry"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/verificacion"
	"github.com/nats-io/nats.go/jetstream"
)

// Store applies batches (postgres.Store).
type Store interface {
	// Aplicar applies a batch in one transaction and returns what each notification
	// did and the events it wrote, claimed for claim (they go to the relay at once).
	Aplicar(ctx context.Context, recibidas []estado.Recibida, topo contracts.Topologia, claim time.Duration) ([]estado.Veredicto, []estado.EventoPendiente, error)
	// Existentes says which comprobantes are in the table (only webhooks for those are verified).
	Existentes(ctx context.Context, claves []contracts.Clave) (map[contracts.Clave]bool, error)
	Ping(ctx context.Context) error
}

// Relay takes the events of a committed batch (relay.Relay).
type Relay interface {
	HandOff(ctx context.Context, eventos []estado.EventoPendiente)
}

// Metrics counts what the worker does (metrics.Metrics).
type Metrics interface {
	Auditadas(rs []estado.Registro)
	BatchApplied(d time.Duration)
	DeadLettered()
}

// Options are the worker's settings and what it works with.
type Options struct {
	BatchSize int // BATCH_SIZE: notifications per transaction, at most
	Workers   int // WORKERS: batches in flight at once
	// BatchTimeout (SHUTDOWN_TIMEOUT) bounds a batch, and so the batch finished on shutdown.
	BatchTimeout time.Duration
	// AckWait is the consumer's: the verification of a batch ends well inside it.
	AckWait time.Duration
	// Claim is how long the events handed to the relay stay claimed (relay.CommittedClaim).
	Claim time.Duration

	// Consumer is the durable consumer of the notifications subject (stream.Declare's).
	Consumer jetstream.Consumer
	Store    Store
	Relay    Relay
	Topo     contracts.Topologia
	Decoder  contracts.Decoder // ENLACE_HOSTS, as ingest's
	// SendToDeadLetters copies a message to the dead-letter stream with its reason
	// (stream.SendToDeadLetters).
	SendToDeadLetters func(ctx context.Context, m jetstream.Msg, reason string) error
	// Verificador, when set (VERIFY_WEBHOOKS), confirms each webhook before it is applied.
	Verificador *verificacion.Verificador
	Metrics     Metrics
	Log         *slog.Logger

	// CrashAfterCommit is nil but in tests: when it returns true, right after a batch commits
	// (before any acknowledgement and before the relay has the events), Run ends with ErrCrash,
	// as a SIGKILL there would.
	CrashAfterCommit func() bool
}

// ErrCrash is how Run ends when Options.CrashAfterCommit says so.
var ErrCrash = errors.New("simulated crash")

// Worker consumes the notifications subject and applies what it fetched in one transaction per
// batch, acknowledging each message only after that transaction has committed.
type Worker struct {
	Options
}

// New is a worker with o; Run starts it.
func New(o Options) *Worker { return &Worker{o} }

// pullExpiry bounds how long a pull request waits (see Run).
const pullExpiry = 5 * time.Second

// Run consumes Consumer until ctx is cancelled, with Workers batches in flight at once (each its own
// transaction on its own connection). The batch in flight is finished with a context of its
// own; messages fetched but not started are handed back to JetStream (nak) for another instance.
func (w *Worker) Run(ctx context.Context) error {
	msgs := make(chan jetstream.Msg, w.BatchSize*w.Workers)
	cc, err := w.Consumer.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
			_ = m.Nak()
		}
	},
		jetstream.PullMaxMessages(w.BatchSize*w.Workers),
		// A pull request waits at most this long, with heartbeats every half of it: a pull left
		// on a node that died (the consumer's leader moved) is noticed, and made again on the
		// new leader, within seconds rather than nats.go's default of 30.
		jetstream.PullExpiry(pullExpiry),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			w.Log.Warn("consume", "err", err)
		}),
	)
	if err != nil {
		return err
	}
	defer func() {
		cc.Stop()
		for {
			select {
			case m := <-msgs:
				_ = m.Nak()
			default:
				return
			}
		}
	}()
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	for range w.Workers {
		wg.Go(func() {
			if err := w.batches(wctx, msgs); err != nil {
				stop(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(wctx); !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// batches takes whatever has arrived (at least one message, at most BatchSize) and applies it,
// until ctx ends.
func (w *Worker) batches(ctx context.Context, msgs <-chan jetstream.Msg) error {
	for {
		var batch []jetstream.Msg
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			batch = append(batch, m)
		}
	fill:
		for len(batch) < w.BatchSize {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.BatchTimeout)
		err := w.process(bctx, ctx, batch)
		cancel()
		if err != nil {
			return err
		}
	}
}

// process decodes a batch, dead-letters what cannot be decoded, and applies the rest.
func (w *Worker) process(ctx, life context.Context, batch []jetstream.Msg) error {
	msgs := make([]jetstream.Msg, 0, len(batch))
	recibidas := make([]estado.Recibida, 0, len(batch))
	for _, m := range batch {
		e, err := w.recibida(m)
		if err != nil {
			w.deadLetter(ctx, m, "undecodable: "+err.Error())
			continue
		}
		msgs = append(msgs, m)
		recibidas = append(recibidas, e)
	}
	if w.Verificador != nil {
		msgs, recibidas = w.verificar(ctx, msgs, recibidas)
	}
	if len(recibidas) == 0 {
		return nil
	}
	return w.aplicar(ctx, life, msgs, recibidas)
}

// applyAttempts bounds the attempts at a batch that fails in a way the notifications themselves
// may cause (postgres.Error.MaybeMessageFault: a trigger raising an error, rows changed under our
// lock): after them the batch is split and what still fails on its own is dead-lettered, instead
// of being retried forever.
const applyAttempts = 3

func (w *Worker) aplicar(ctx, life context.Context, msgs []jetstream.Msg, recibidas []estado.Recibida) error {
	veredictos, eventos, err := w.aplicarConReintentos(ctx, recibidas)
	switch {
	case err == nil:
	case maybeMessageFault(err) && len(recibidas) > 1:
		// One message Postgres refuses must not hold back the others: apply them one by one.
		for i := range recibidas {
			if err := w.aplicar(ctx, life, msgs[i:i+1], recibidas[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	case maybeMessageFault(err):
		w.deadLetter(ctx, msgs[0], "postgres refused it: "+err.Error())
		return nil
	default:
		w.nakWithDelay(life, msgs, recibidas, err)
		return nil
	}
	if w.CrashAfterCommit != nil && w.CrashAfterCommit() {
		return ErrCrash
	}
	// Committed: the relay publishes the new events while the acknowledgements go out.
	w.Relay.HandOff(ctx, eventos)
	w.Metrics.Auditadas(slices.DeleteFunc(estado.Registros(recibidas, veredictos),
		func(r estado.Registro) bool { return r.Efecto == estado.SinEspacio })) // not in the audit
	w.ack(ctx, msgs, recibidas, veredictos)
	return nil
}

// aplicarConReintentos applies a batch, retrying (up to applyAttempts) a failure the batch
// itself may cause but that may pass (a trigger's error, rows changed under our lock).
func (w *Worker) aplicarConReintentos(ctx context.Context, recibidas []estado.Recibida) ([]estado.Veredicto, []estado.EventoPendiente, error) {
	defer func(start time.Time) { w.Metrics.BatchApplied(time.Since(start)) }(time.Now())
	veredictos, eventos, err := w.Store.Aplicar(ctx, recibidas, w.Topo, w.Claim)
	for attempt := 1; err != nil && maybeMessageFault(err) && !dataError(err) && attempt < applyAttempts; attempt++ {
		w.Log.Warn("apply failed: retrying", "batch", len(recibidas), "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(retry.Backoff(attempt, 200*time.Millisecond, 2*time.Second)):
		}
		veredictos, eventos, err = w.Store.Aplicar(ctx, recibidas, w.Topo, w.Claim)
	}
	return veredictos, eventos, err
}

// nakWithDelay hands a batch back after a failure that is not the messages' doing: Postgres is
// unreachable, out of time, full, read-only or busy. Nothing is acknowledged and nothing is
// dead-lettered. While Postgres does not answer, the messages come back every second and we
// wait for it; while it answers but refuses (a full disk, a read-only standby), they come back
// after a pause that grows with each delivery, up to 30 s.
func (w *Worker) nakWithDelay(life context.Context, msgs []jetstream.Msg, recibidas []estado.Recibida, err error) {
	delay := time.Second
	pctx, cancel := context.WithTimeout(life, 2*time.Second)
	answers := w.Store.Ping(pctx) == nil
	cancel()
	if answers {
		delay = retry.Backoff(recibidas[0].Intentos, time.Second, 30*time.Second)
	}
	w.Log.Error("apply failed: nothing acknowledged, backing off", "batch", len(msgs), "retry_in", delay, "err", err)
	for _, m := range msgs {
		_ = m.NakWithDelay(delay)
	}
	if !answers {
		w.waitForPostgres(life)
	}
}

// ack acknowledges a committed batch, a plain ack per message: the server's confirmation of an
// ack (a double ack) would only tell the worker that a redelivery will not come, and a
// redelivery after a commit is harmless (the inbox records it as a duplicate), so the worker
// does not wait for it: a round trip per message less. What found no room to park (PARKED_MAX)
// is dead-lettered instead: kept, with its reason, where ops look and the alert watches.
func (w *Worker) ack(ctx context.Context, msgs []jetstream.Msg, recibidas []estado.Recibida, veredictos []estado.Veredicto) {
	var deadLetters sync.WaitGroup
	debug := w.Log.Enabled(ctx, slog.LevelDebug) // per-message lines only when asked for: this loop is hot
	for i, v := range veredictos {
		e, m := &recibidas[i], msgs[i]
		if debug {
			w.Log.Debug("notification", "id", e.MessageID, "efecto", v.Efecto, "anterior", v.Anterior, "nuevo", v.Nuevo, "origen", e.Origen)
		}
		switch v.Efecto {
		case estado.Conflicto:
			w.Log.Warn("conflicting notification recorded, not applied", "id", e.MessageID, "motivo", v.Motivo)
		case estado.Aparcado:
			w.Log.Info("comprobante not in the table: notification parked until it is inserted", "id", e.MessageID)
		case estado.SinEspacio:
			deadLetters.Go(func() { w.deadLetter(ctx, m, "PARKED_MAX: "+v.Motivo) })
			continue
		}
		if err := m.Ack(); err != nil {
			w.Log.Warn("ack failed after commit (will be redelivered as a duplicate)", "id", e.MessageID, "err", err)
		}
	}
	deadLetters.Wait()
}

// recibida turns a message into what the store applies. Its message ID is recomputed from the
// payload by the contract's rule, whoever published it and whatever header it carried; its
// origin is the subject's, which NATS's permissions bind to who may publish there. When and
// from whom it was received are believed only from those publishers: on a subject that names
// no origin, the stream's own timestamp stands and the sender is unknown.
func (w *Worker) recibida(m jetstream.Msg) (estado.Recibida, error) {
	n, err := w.Decoder.Decode(m.Data())
	if err != nil {
		return estado.Recibida{}, err
	}
	md, err := m.Metadata()
	if err != nil {
		return estado.Recibida{}, err
	}
	e := estado.Recibida{
		MessageID: contracts.MessageID(n), Notificacion: n, Payload: m.Data(), Recibido: md.Timestamp,
		StreamSeq: md.Sequence.Stream, Intentos: int(md.NumDelivered),
	}
	e.Origen, e.Reenvio = w.Topo.OrigenDe(m.Subject())
	if e.Reenvio {
		e.Nota = "reenviada"
	}
	if e.Origen == contracts.OrigenDesconocido {
		return e, nil
	}
	h := m.Headers()
	if recibido, err := time.Parse(time.RFC3339Nano, h.Get(contracts.CabeceraRecibido)); err == nil {
		e.Recibido = recibido
	}
	e.Remitente = h.Get(contracts.CabeceraRemitente)
	return e, nil
}

// deadLetter copies m to the dead-letter stream and terminates it. If the copy cannot be stored,
// m is left for redelivery: it is never dropped without a trace.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, reason string) {
	w.Log.Warn("dead-lettering message", "subject", m.Subject(), "reason", reason)
	if err := w.SendToDeadLetters(ctx, m, reason); err != nil {
		w.Log.Error("dead-letter failed: message left for redelivery", "err", err)
		_ = m.NakWithDelay(5 * time.Second)
		return
	}
	w.Metrics.DeadLettered()
	// Plain Term: the reason travels in the copy, and servers before 2.10 ignore "+TERM <reason>"
	// altogether, which would redeliver the message forever.
	if err := m.Term(); err != nil {
		w.Log.Warn("term failed", "err", err)
	}
}

// waitForPostgres blocks until Postgres answers again (or ctx ends), pinging with backoff: from
// 250 ms up to every 2 s, so that a return is noticed within about 2 s.
func (w *Worker) waitForPostgres(ctx context.Context) {
	for attempt := 1; ; attempt++ {
		d := retry.Backoff(attempt, 250*time.Millisecond, 2*time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := w.Store.Ping(pctx)
		cancel()
		if err == nil {
			w.Log.Info("postgres is back: resuming", "attempts", attempt)
			return
		}
		if !errors.Is(err, context.Canceled) {
			w.Log.Warn("postgres still unreachable", "attempt", attempt, "next_in", d, "err", err)
		}
	}
}

// verificar confirms each webhook of the batch with NubeFacT's Operation 2 (VERIFY_WEBHOOKS;
// package verificacion says what is applied then).
//
// Only webhooks with a final outcome for comprobantes in the table are verified here: the others
// change nothing now (no outcome) or are parked, and a parked webhook is verified when its
// comprobante arrives (verificacion.Verificador.Aparcadas), so that notifications for comprobantes that are not
// ours never spend NubeFacT calls nor wait in the consumer. A webhook that cannot be checked now
// (NubeFacT unreachable, or with no final answer yet) is handed back for a later retry and left
// out of the batch; after VERIFY_RETRIES deliveries without a final answer it is recorded as a
// conflict, for ops.
//
// At most VERIFY_CONCURRENCY calls are in flight and VERIFY_RATE start per second; the whole
// verification is bounded well inside the messages' AckWait, which InProgress restarts before
// and after.
func (w *Worker) verificar(ctx context.Context, msgs []jetstream.Msg, recibidas []estado.Recibida) ([]jetstream.Msg, []estado.Recibida) {
	for _, m := range msgs {
		_ = m.InProgress()
	}
	claves := make([]contracts.Clave, len(recibidas))
	for i := range recibidas {
		claves[i] = recibidas[i].Notificacion.Clave()
	}
	existen, err := w.Store.Existentes(ctx, claves)
	if err != nil {
		existen = nil // verify them all: Aplicar will find out what Postgres has to say
	}
	vctx, cancel := context.WithTimeout(ctx, max(w.AckWait-2*time.Second, time.Second))
	defer cancel()
	errs := w.Verificador.Confirmar(vctx, recibidas, func(e *estado.Recibida) bool {
		if existen == nil || existen[e.Notificacion.Clave()] {
			return true
		}
		e.PorVerificar = true // parked unconfirmed, unless its comprobante appears meanwhile
		return false
	})
	keptMsgs, kept := msgs[:0], recibidas[:0]
	for i := range recibidas {
		e := &recibidas[i]
		if errs[i] != nil && !w.Verificador.NoConfirmado(e, errs[i]) {
			w.Log.Warn("webhook could not be verified: retrying later", "id", e.MessageID, "err", errs[i])
			_ = msgs[i].NakWithDelay(retry.Backoff(e.Intentos, time.Second, 30*time.Second))
			continue
		}
		_ = msgs[i].InProgress() // the verification may have used most of AckWait: time to apply
		keptMsgs, kept = append(keptMsgs, msgs[i]), append(kept, *e)
	}
	return keptMsgs, kept
}

// maybeMessageFault reports whether the store says (postgres.Error) that the notifications
// themselves may have caused err, rather than an outage.
func maybeMessageFault(err error) bool {
	var f interface{ MaybeMessageFault() bool }
	return errors.As(err, &f) && f.MaybeMessageFault()
}

// dataError reports whether the store says Postgres refused the data itself: retrying the same
// batch fails again.
func dataError(err error) bool {
	var f interface{ DataError() bool }
	return errors.As(err, &f) && f.DataError()
}
