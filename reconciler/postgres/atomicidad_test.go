package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestAplicarEsAtomico makes a batch fail after some of its recibidas were applied inside the
// transaction, and checks that none of them left a trace.
func TestAplicarEsAtomico(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		nombre string
		// aplicar runs Aplicar on the batch of 105, 106 and 107 (processed in that order).
		aplicar  func(t *testing.T, s *postgres.Store, pool *pgxpool.Pool, lote []estado.Recibida) error
		esperado func(error) bool
	}{
		{
			nombre: "postgres rechaza la última entrada",
			aplicar: func(t *testing.T, s *postgres.Store, _ *pgxpool.Pool, lote []estado.Recibida) error {
				// Postgres refuses a payload that is not UTF-8 when it inserts the audit row of
				// 107, after 105 and 106 were applied in the same transaction.
				lote[2].Payload = append(append([]byte{}, lote[2].Payload...), 0xff, 0xfe)
				_, _, err := s.Aplicar(t.Context(), lote, contracts.Topologia{}, 0)
				return err
			},
			esperado: postgres.IsDataError,
		},
		{
			nombre: "contexto cancelado antes de empezar",
			aplicar: func(t *testing.T, s *postgres.Store, _ *pgxpool.Pool, lote []estado.Recibida) error {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				_, _, err := s.Aplicar(ctx, lote, contracts.Topologia{}, 0)
				return err
			},
			esperado: cancelado,
		},
		{
			nombre: "contexto cancelado a mitad del lote",
			aplicar: func(t *testing.T, s *postgres.Store, pool *pgxpool.Pool, lote []estado.Recibida) error {
				// The billing system holds 106: Aplicar applies 105, then waits for the lock,
				// and the reconciler shuts down while it waits.
				tx, err := pool.Begin(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(context.Background())
				if _, err := tx.Exec(t.Context(), `SELECT 1 FROM comprobantes WHERE numero = 106 FOR UPDATE`); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := make(chan error, 1)
				go func() {
					_, _, err := s.Aplicar(ctx, lote, contracts.Topologia{}, 0)
					done <- err
				}()
				esperarBloqueo(t, pool)
				cancel()
				return <-done
			},
			esperado: cancelado,
		},
	} {
		t.Run(tc.nombre, func(t *testing.T) {
			t.Parallel()
			s, pool := nuevoStore(t)
			lote := aceptaciones(t, pool, 105, 106, 107)
			antes := foto(t, pool)

			err := tc.aplicar(t, s, pool, lote)

			if err == nil || !tc.esperado(err) {
				t.Fatalf("Aplicar error = %v", err)
			}
			t.Logf("Aplicar: %v", err)
			mismaFoto(t, antes, foto(t, pool))
			if c := comprobante(t, pool, 105); c.Estado != "pendiente" {
				t.Errorf("105 is %s after a failed batch, want pendiente", c.Estado)
			}
		})
	}
}

func cancelado(err error) bool {
	return errors.Is(err, context.Canceled) && !postgres.IsDataError(err)
}

// esperarBloqueo waits until a session of this database waits for a row lock.
func esperarBloqueo(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	testkit.Eventually(tb, 10*time.Second, "a session waiting for the lock", func() bool {
		var n int
		err := pool.QueryRow(tb.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			tb.Fatal(err)
		}
		return n > 0
	})
}
