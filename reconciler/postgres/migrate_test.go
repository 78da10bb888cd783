package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

var migraciones = []string{"00001_esquema.sql", "00002_espera_y_outbox.sql", "00003_plazos_y_metricas.sql", "00004_consola.sql", "00005_paginas_y_tope.sql", "00006_detener_regularizacion.sql", "00007_claim.sql", "00008_aparcadas_claim.sql"}

func TestMigrateEsIdempotente(t *testing.T) {
	t.Parallel()
	pool := abrir(t, testkit.Database(t))
	for i, want := range [][]string{migraciones, nil} {
		got, err := postgres.Migrate(t.Context(), pool)
		if err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
		mismos(t, "applied", got, want)
	}
}

// TestMigrateConcurrente starts three reconcilers on an empty database at once: the advisory
// lock must let one migrate and the others find nothing to do.
func TestMigrateConcurrente(t *testing.T) {
	t.Parallel()
	dsn := testkit.Database(t)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		aplicado []string
	)
	for range 3 {
		pool := abrir(t, dsn)
		wg.Go(func() {
			start := time.Now()
			got, err := postgres.Migrate(t.Context(), pool)
			t.Logf("Migrate took %v, applied %v", time.Since(start), got)
			if err != nil {
				t.Errorf("Migrate: %v", err)
			}
			mu.Lock()
			aplicado = append(aplicado, got...)
			mu.Unlock()
		})
	}
	wg.Wait()

	slices.Sort(aplicado)
	mismos(t, "applied by the three", aplicado, migraciones)
	pool := abrir(t, dsn)
	pendiente(t, pool, 2, "BBB1", 105)
}

func abrir(tb testing.TB, dsn string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
