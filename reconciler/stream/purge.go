package stream

import (
	"context"
	"fmt"

	"github.com/hotelpe/boletas/contracts"
	"github.com/nats-io/nats.go/jetstream"
)

// Purge is what PurgeApplied did to the notifications stream.
type Purge struct {
	Stream   string
	AckFloor uint64                // the consumer's ack floor: every message up to it is acknowledged
	Before   jetstream.StreamState // the stream before the purge
	After    jetstream.StreamState // and after it
	MaxBytes int64                 // the stream's limit (-1: none)
}

// Purged is how many messages the purge removed: those the stream held before, plus those
// stored meanwhile (each takes the next sequence), minus those it holds after.
func (p Purge) Purged() uint64 {
	stored := p.After.LastSeq - min(p.After.LastSeq, p.Before.LastSeq)
	return p.Before.Msgs + stored - min(p.After.Msgs, p.Before.Msgs+stored)
}

// PurgeApplied removes from the notifications stream every message up to the durable
// consumer's ack floor. The reconciler acknowledges a notification only once it is in Postgres
// (applied, parked, recorded as a conflict, or copied to the dead-letter stream), so nothing
// purged is lost; nothing above the floor is touched, and the floor only grows, so a message
// acknowledged while this runs is merely left for the next purge. The stream keeps acknowledged
// messages (limits retention) until STREAM_MAX_AGE: this is how ops make room in a full stream
// without waiting for that.
//
// Only the consumer named is consulted: the reconcilers' own, the stream's only one.
func PurgeApplied(ctx context.Context, js jetstream.JetStream, topo contracts.Topologia, consumer string) (Purge, error) {
	name := topo.StreamNotificaciones()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return Purge{}, fmt.Errorf("stream %s: %w", name, err)
	}
	c, err := s.Consumer(ctx, consumer)
	if err != nil {
		return Purge{}, fmt.Errorf("consumer %s of %s: %w", consumer, name, err)
	}
	p := Purge{Stream: name, AckFloor: c.CachedInfo().AckFloor.Stream,
		Before: s.CachedInfo().State, MaxBytes: s.CachedInfo().Config.MaxBytes}
	if p.AckFloor >= p.Before.FirstSeq && p.Before.Msgs > 0 {
		// Purges every message below the sequence given: up to the floor, inclusive.
		if err := s.Purge(ctx, jetstream.WithPurgeSequence(p.AckFloor+1)); err != nil {
			return p, fmt.Errorf("purge %s up to %d: %w", name, p.AckFloor, err)
		}
	}
	info, err := s.Info(ctx)
	if err != nil {
		return p, fmt.Errorf("stream %s: %w", name, err)
	}
	p.After = info.State
	return p, nil
}
