package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventoPendiente is an outbox row not yet confirmed as published.
type EventoPendiente struct {
	ID      int64
	EventID string
	Subject string
	Evento  []byte
}

// Relay locks up to limit unpublished events (skipping those another reconciler holds), hands
// them to publish, and marks as published the ones publish returns, all in one transaction. A
// crash after publishing and before the commit leaves them unpublished: they are published again
// with the same event ID, which JetStream (within its duplicate window) and subscribers (by ID)
// discard. It returns how many it marked.
func (s *Store) Relay(ctx context.Context, limit int, publish func([]EventoPendiente) []int64) (int, error) {
	var marked int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, event_id, subject, evento::text FROM outbox
			WHERE publicado_en IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		eventos, err := pgx.CollectRows(rows, pgx.RowToStructByPos[EventoPendiente])
		if err != nil || len(eventos) == 0 {
			return err
		}
		ids := publish(eventos)
		if len(ids) == 0 {
			return nil
		}
		tag, err := tx.Exec(ctx, `UPDATE outbox SET publicado_en = now() WHERE id = ANY($1)`, ids)
		marked = int(tag.RowsAffected())
		return err
	})
	return marked, wrap("outbox relay", err)
}

// PurgeOutbox deletes events published more than retention ago. The audit keeps the history;
// the outbox is only the way out.
func (s *Store) PurgeOutbox(ctx context.Context, retention time.Duration) (int64, error) {
	// pgx encodes the time.Duration itself as an interval; its String form is not always valid
	// interval syntax ("500µs").
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE publicado_en < now() - $1::interval`, retention)
	return tag.RowsAffected(), wrap("purge outbox", err)
}
