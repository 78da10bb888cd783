// Package postgres adapts the reconciler's domain to PostgreSQL: migrations, the one-transaction
// application of notifications (inbox, audit, state change, outbox), the outbox relay's queries
// and the parked notifications.
package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the reconciler's access to Postgres.
type Store struct {
	pool *pgxpool.Pool
	// topeAparcadas caps the parked notifications (PARKED_MAX); 0: no cap.
	topeAparcadas int64
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	if pool == nil {
		panic("postgres.New: nil pool")
	}
	return &Store{pool: pool}
}

// ConTopeDeAparcadas returns a Store whose Aplicar parks no more notifications once max are
// waiting (PARKED_MAX): those are returned with efecto estado.SinEspacio instead, for the caller
// to dead-letter. 0 means no cap.
func (s *Store) ConTopeDeAparcadas(max int64) *Store {
	c := *s
	c.topeAparcadas = max
	return &c
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

// IsConfigError tells the Postgres errors that waiting cannot fix: refused credentials
// (class 28), an unknown database (3D000), missing privileges (42501). Anything else (starting
// up, too many connections, an administrator's restart) is worth retrying.
func IsConfigError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	code := pgErr.Code
	return strings.HasPrefix(code, "28") || code == "3D000" || code == "42501"
}

// ErrRowsChanged: a row changed under the batch's lock, which no healthy run can cause.
var ErrRowsChanged = errors.New("rows changed under our lock")

// MaybeMessageFault reports whether err may be caused by the notifications themselves rather
// than by Postgres being unreachable, full, read-only or busy: a data error, an error raised by
// a trigger (SQLSTATE class P0), or ErrRowsChanged. Those are retried a few times, then the
// batch is split and what still fails alone is dead-lettered. Anything else (connection, disk
// full, read-only after a failover, deadlock, serialization, permissions...) is waited out with
// nothing acknowledged and nothing dead-lettered: dead-lettering the whole backlog because the
// disk is full would be worse than waiting.
func MaybeMessageFault(err error) bool {
	if errors.Is(err, ErrRowsChanged) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return IsDataError(err) || pgErr.Code[:2] == "P0"
}

// Error is what the store's methods return when they fail: what they were doing and Postgres's
// error. Its methods say by behaviour what a caller may do about it, so that the jobs, which
// never import this adapter, tell a message's fault from an outage.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// MaybeMessageFault is MaybeMessageFault(e.Err).
func (e *Error) MaybeMessageFault() bool { return MaybeMessageFault(e.Err) }

// DataError is IsDataError(e.Err).
func (e *Error) DataError() bool { return IsDataError(e.Err) }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Err: err}
}
