package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestErrorDeDatos(t *testing.T) {
	t.Parallel()
	_, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105)
	insertar := func(ctx context.Context, serie string, numero int) error {
		_, err := pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision) VALUES ($1, $2, $3, $4)`,
			2, serie, numero, emision)
		return err
	}

	for _, tc := range []struct {
		nombre string
		err    func(t *testing.T, pool *pgxpool.Pool) error
		want   bool
	}{
		{"sin error", func(*testing.T, *pgxpool.Pool) error { return nil }, false},
		{"check violation", func(t *testing.T, _ *pgxpool.Pool) error {
			return insertar(t.Context(), "bad!", 1)
		}, true},
		{"check violation envuelta", func(t *testing.T, _ *pgxpool.Pool) error {
			return fmt.Errorf("apply 2-bad!-1: %w", insertar(t.Context(), "bad!", 1))
		}, true},
		{"unique violation", func(t *testing.T, _ *pgxpool.Pool) error {
			return insertar(t.Context(), "BBB1", 105)
		}, true},
		{"data exception", func(t *testing.T, pool *pgxpool.Pool) error {
			_, err := pool.Exec(t.Context(), `SELECT 1 / 0`)
			return err
		}, true},
		{"statement timeout", func(t *testing.T, pool *pgxpool.Pool) error {
			return pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(t.Context(), `SET LOCAL statement_timeout = '10ms'`); err != nil {
					return err
				}
				_, err := tx.Exec(t.Context(), `SELECT pg_sleep(5)`)
				return err
			})
		}, false},
		{"contexto cancelado", func(t *testing.T, _ *pgxpool.Pool) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return insertar(ctx, "bad!", 1)
		}, false},
		{"conexión rechazada", func(t *testing.T, _ *pgxpool.Pool) error {
			// Port 1 on the loopback: nothing listens there.
			conn, err := pgx.Connect(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5")
			if err == nil {
				conn.Close(t.Context())
			}
			return err
		}, false},
	} {
		t.Run(tc.nombre, func(t *testing.T) {
			t.Parallel()
			err := tc.err(t, pool)
			if tc.nombre != "sin error" && err == nil {
				t.Fatal("the operation did not fail")
			}
			if got := postgres.IsDataError(err); got != tc.want {
				t.Errorf("IsDataError(%v) = %v, want %v", err, got, tc.want)
			}
		})
	}
}

func TestErrorDeConfiguracion(t *testing.T) {
	for code, fatal := range map[string]bool{
		"28P01": true, "28000": true, "3D000": true, "42501": true, // credentials, database, privileges
		"57P03": false, "53300": false, "57P01": false, "08006": false, // starting up, too many connections, restart
	} {
		err := fmt.Errorf("connect: %w", &pgconn.PgError{Code: code})
		if got := postgres.IsConfigError(err); got != fatal {
			t.Errorf("IsConfigError(%s) = %v, want %v", code, got, fatal)
		}
	}
	if postgres.IsConfigError(fmt.Errorf("dial tcp: connection refused")) {
		t.Error("a connection error is not a configuration error")
	}
}

func TestCulpaDelMensaje(t *testing.T) {
	for code, want := range map[string]bool{
		"22P02": true, "23505": true, "P0001": true, // data, integrity, a trigger's RAISE
		"53100": false, "25006": false, "40P01": false, "40001": false, "57P01": false, "42501": false,
	} {
		if got := postgres.MaybeMessageFault(fmt.Errorf("apply: %w", &pgconn.PgError{Code: code})); got != want {
			t.Errorf("MaybeMessageFault(%s) = %v, want %v", code, got, want)
		}
	}
	if !postgres.MaybeMessageFault(fmt.Errorf("update: %w", postgres.ErrRowsChanged)) {
		t.Error("rows changed under the lock may be the batch's doing")
	}
}
