package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// EventoPendiente is an outbox row: an event not yet confirmed as published.
type EventoPendiente struct {
	ID      int64
	EventID string
	Subject string
	Evento  []byte
}

// Relay locks up to limit events (skipping those another reconciler holds), hands them to
// publish, and deletes the ones publish returns, all in one transaction. A crash after
// publishing and before the commit leaves them in the outbox: they are published again with the
// same event ID, which JetStream (within its duplicate window) and subscribers (by ID) discard.
// It returns how many it deleted.
func (s *Store) Relay(ctx context.Context, limit int, publish func([]EventoPendiente) []int64) (int, error) {
	var publicados int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, event_id, subject, evento::text FROM outbox
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
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
		tag, err := tx.Exec(ctx, `DELETE FROM outbox WHERE id = ANY($1)`, ids)
		publicados = int(tag.RowsAffected())
		return err
	})
	return publicados, wrap("outbox relay", err)
}
