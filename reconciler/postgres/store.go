// Package postgres adapts the reconciler's domain to PostgreSQL: migrations, the one-transaction
// application of notifications (inbox, audit, state change, outbox), the outbox relay's queries
// and the parked notifications.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the reconciler's access to Postgres.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	if pool == nil {
		panic("postgres.New: nil pool")
	}
	return &Store{pool: pool}
}

// Ping reports whether Postgres answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// IsDataError reports whether err is Postgres refusing this data (a data exception or an
// integrity violation): retrying the same message will fail again, unlike a lost connection.
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23"
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
