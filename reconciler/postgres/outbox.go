package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

// Claim claims up to limit unpublished events for claim, oldest first, skipping those
// another relay holds or has claimed, in one short statement: no lock is held while the caller
// publishes. A relay that dies leaves its claim to expire; the events are then published again
// with the same event ID, which JetStream (within its duplicate window) and subscribers (by ID)
// discard.
func (s *Store) Claim(ctx context.Context, limit int, claim time.Duration) ([]estado.EventoPendiente, error) {
	var eventos []estado.EventoPendiente
	err := s.withoutSyncCommit(ctx, func(tx pgx.Tx) error {
		// = ANY(ARRAY(…)) keeps the outer update on the primary key's index whatever the plan
		// cache guesses; a join may scan the whole (churning) table.
		rows, err := tx.Query(ctx, `UPDATE outbox SET claimed_until = now() + $2::interval
			WHERE id = ANY(ARRAY(SELECT id FROM outbox WHERE claimed_until IS NULL OR claimed_until < now()
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
			RETURNING id, event_id, subject, evento::text`, limit, claim)
		if err != nil {
			return err
		}
		eventos, err = pgx.CollectRows(rows, pgx.RowToStructByPos[estado.EventoPendiente])
		// RETURNING keeps no order: publish oldest first.
		slices.SortFunc(eventos, func(a, b estado.EventoPendiente) int { return cmp.Compare(a.ID, b.ID) })
		return err
	})
	return eventos, wrap("outbox claim", err)
}

// withoutSyncCommit runs f in a transaction whose commit does not wait for the disk
// (synchronous_commit off for it alone). Only for the relay's bookkeeping: a claim or a delete
// lost in a crash costs a republish with the same event ID, which JetStream and subscribers
// discard, and never an event; the outbox rows themselves are written with the state change, in
// a transaction that does wait.
func (s *Store) withoutSyncCommit(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return f(tx)
	})
}

// terminadosPorID deletes the events JetStream has stored and releases the claim on the others, so
// that the next sweep retries them at once.
func (s *Store) terminadosPorID(ctx context.Context, published, failed []int64) error {
	return terminar(ctx, s, "id", published, failed)
}

// Terminados records the outcome of events a relay published by itself (see Aplicar with a claim),
// by event ID: those JetStream stored leave the outbox, the others lose their claim so that the
// next sweep publishes them.
func (s *Store) Terminados(ctx context.Context, published, failed []string) error {
	return terminar(ctx, s, "event_id", published, failed)
}

// terminar deletes the outbox rows whose key (column id or event_id, both unique) is in
// published and releases the claim on those in failed, in one transaction.
func terminar[K int64 | string](ctx context.Context, s *Store, column string, published, failed []K) error {
	if len(published) == 0 && len(failed) == 0 {
		return nil
	}
	err := s.withoutSyncCommit(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if len(published) > 0 {
			b.Queue(`DELETE FROM outbox WHERE `+column+` = ANY($1)`, published)
		}
		if len(failed) > 0 {
			b.Queue(`UPDATE outbox SET claimed_until = NULL WHERE `+column+` = ANY($1)`, failed)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return wrap("outbox done", err)
}

// Relay claims up to limit events, hands them to publish (outside any transaction: publish may
// wait for JetStream as long as ctx allows), deletes those publish returns and releases the
// others. It returns how many it deleted.
func (s *Store) Relay(ctx context.Context, limit int, claim time.Duration, publish func(context.Context, []estado.EventoPendiente) []int64) (int, error) {
	eventos, err := s.Claim(ctx, limit, claim)
	if err != nil || len(eventos) == 0 {
		return 0, err
	}
	ok := publish(ctx, eventos)
	published := make(map[int64]bool, len(ok))
	for _, id := range ok {
		published[id] = true
	}
	var failed []int64
	for _, ev := range eventos {
		if !published[ev.ID] {
			failed = append(failed, ev.ID)
		}
	}
	// Recorded even when ctx has just ended (what JetStream stored must leave the outbox), but
	// never waiting on a Postgres that hangs: the claim's expiry covers a lost update.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.terminadosPorID(dctx, ok, failed); err != nil {
		return 0, err
	}
	return len(ok), nil
}
