// Package stream adapts the reconciler to NATS JetStream: it declares the streams and the
// durable consumer, and dead-letters messages that cannot be processed.
package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options are the durability knobs of the streams and the consumer (see docs/durability.md).
type Options struct {
	Replicas              int
	DuplicateWindow       time.Duration // notifications: how long JetStream itself drops a repeated Nats-Msg-Id
	MaxAge                time.Duration // notifications and events are kept this long (0: forever)
	EventsDuplicateWindow time.Duration
	Consumer              string
	AckWait               time.Duration
	MaxDeliver            int // -1: unlimited (the reconciler parks by itself)
	MaxAckPending         int
	MaxBytes              int64         // size limit of each stream (-1: none); a full stream refuses new messages
	DeadLetterMaxAge      time.Duration // dead letters are kept this long
}

// MaxMensaje is the largest message the notifications stream accepts: the largest body ingest
// takes plus room for the headers. JetStream refuses anything bigger, and ingest answers 503.
const MaxMensaje = contracts.MaxPayload + 8<<10

// Declare creates or updates the notifications, events and dead-letter streams and the
// durable pull consumer. It is idempotent, so every reconciler instance runs it on start.
func Declare(ctx context.Context, js jetstream.JetStream, topo contracts.Topologia, o Options) (jetstream.Consumer, error) {
	streams := []jetstream.StreamConfig{
		{
			Name:        topo.StreamNotificaciones(),
			Description: "NubeFacT notifications: webhooks (ingest) and synthetic ones (regularization)",
			Subjects:    topo.SubjectsNotificaciones(),
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			MaxAge:      o.MaxAge,
			MaxMsgSize:  MaxMensaje,
			MaxBytes:    o.MaxBytes,
			// A full stream refuses the new message (ingest answers 503 and NubeFacT retries)
			// rather than dropping the oldest, which may not have been applied yet.
			Discard: jetstream.DiscardNew,
		},
		{
			Name:        topo.StreamEventos(),
			Description: "comprobante state changes (CloudEvents), e.g. boleta.aceptada",
			Subjects:    topo.SubjectsEventos(),
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			Duplicates:  o.EventsDuplicateWindow,
			MaxAge:      o.MaxAge,
			MaxBytes:    o.MaxBytes,
			Discard:     jetstream.DiscardNew, // the relay keeps refused events in the outbox
		},
		{
			Name:        topo.StreamDeadLetters(),
			Description: "notifications the reconciler could not decode or store, with the reason",
			Subjects:    []string{topo.SubjectDeadLetters()},
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			MaxAge:      o.DeadLetterMaxAge,
			MaxBytes:    o.MaxBytes,
			Discard:     jetstream.DiscardNew, // a refused copy leaves its original for redelivery
		},
	}
	for _, cfg := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return nil, fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, topo.StreamNotificaciones(), jetstream.ConsumerConfig{
		Durable:       o.Consumer,
		Description:   "reconciler: applies notifications to Postgres",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    o.MaxDeliver,
		MaxAckPending: o.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", o.Consumer, err)
	}
	return cons, nil
}

// SendToDeadLetters copies msg to the dead-letter subject with the reason, waiting for the
// stream's acknowledgement. The copy's ID is derived from the original's stream sequence, so
// dead-letting the same message twice (a crash before the Term) stores it once. A message
// without metadata (no sequence to name it by) is copied without an ID: a shared one would make
// the copies of different messages duplicates of each other, and their originals would be
// terminated with no copy stored.
func SendToDeadLetters(ctx context.Context, js jetstream.JetStream, topo contracts.Topologia, msg jetstream.Msg, reason string) error {
	dl := nats.NewMsg(topo.SubjectDeadLetters())
	dl.Data = msg.Data()
	for k, v := range msg.Headers() {
		if k != jetstream.MsgIDHeader {
			dl.Header[k] = v
		}
	}
	dl.Header.Set(contracts.CabeceraMotivo, reason)
	origen, _ := topo.OrigenDe(msg.Subject()) // whatever header the publisher wrote
	dl.Header.Set(contracts.CabeceraOrigen, origen)
	var opts []jetstream.PublishOpt
	if md, err := msg.Metadata(); err == nil {
		seq := strconv.FormatUint(md.Sequence.Stream, 10)
		opts = append(opts, jetstream.WithMsgID("dlq."+seq))
		dl.Header.Set("Nubefact-Stream-Seq", seq)
	}
	if orig := msg.Headers().Get(jetstream.MsgIDHeader); orig != "" {
		dl.Header.Set("Nubefact-Msg-Id-Original", orig)
	}
	if _, err := js.PublishMsg(ctx, dl, append(opts, jetstream.WithExpectStream(topo.StreamDeadLetters()))...); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return nil
}

// Publish publishes a notification's message (contracts.Topologia.Mensaje) and waits, at most
// 10 s within ctx, for its stream to store it.
func Publish(ctx context.Context, js jetstream.JetStream, m contracts.Mensaje) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Data: m.Payload, Header: m.Cabeceras},
		jetstream.WithMsgID(m.MsgID), jetstream.WithExpectStream(m.Stream))
	return err
}

// Publisher publishes NubeFacT's answers (Operation 2) as synthetic notifications on the
// subject the webhook feeds, under the same message-ID rule, origin regularizacion
// (regularizacion.Publisher).
type Publisher struct {
	JS   jetstream.JetStream
	Topo contracts.Topologia
}

// Publish publishes n and waits for the stream to store it.
func (p *Publisher) Publish(ctx context.Context, n contracts.Notificacion) error {
	n, body, err := contracts.RespuestaNubefact(n)
	if err != nil {
		return err
	}
	m := p.Topo.Mensaje(body, contracts.MessageID(n), contracts.OrigenRegularizacion, time.Now(), contracts.RemitenteNubefact)
	return Publish(ctx, p.JS, m)
}

// DeadLetters reads up to limit messages of the dead-letter stream before the sequence antes (0:
// from the last), newest first: a page, one message in memory at a time as it is read.
func DeadLetters(ctx context.Context, js jetstream.JetStream, topo contracts.Topologia, antes uint64, limit int) ([]estado.DeadLetter, error) {
	s, err := js.Stream(ctx, topo.StreamDeadLetters())
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	var out []estado.DeadLetter
	seq := info.State.LastSeq
	if antes > 0 && antes-1 < seq {
		seq = antes - 1
	}
	for ; seq >= info.State.FirstSeq && seq > 0 && len(out) < limit; seq-- {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted, or aged out meanwhile
		}
		if err != nil {
			return out, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		out = append(out, estado.DeadLetter{Seq: m.Sequence, Stored: m.Time, Reason: m.Header.Get(contracts.CabeceraMotivo),
			Origen: m.Header.Get(contracts.CabeceraOrigen), MsgID: m.Header.Get("Nubefact-Msg-Id-Original"),
			StreamSeq: m.Header.Get("Nubefact-Stream-Seq"), Payload: m.Data})
	}
	return out, nil
}
