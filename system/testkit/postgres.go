package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/testkit/tempdb"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// PostgresImage is the PostgreSQL image started when TEST_DATABASE_URL is not set.
const PostgresImage = "postgres:16-alpine"

var postgresServer = &service{name: "PostgreSQL", env: "TEST_DATABASE_URL", start: startPostgres}

// AdminURL returns a connection string allowed to create databases.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	return postgresServer.URL(tb)
}

func startPostgres(ctx context.Context) (string, error) {
	c, err := tcpostgres.Run(ctx, PostgresImage,
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", err
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

// Database creates an empty database for tb, dropped when tb ends, and returns its URL.
func Database(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := tempdb.Create(ctx, admin, "test")
	if err != nil {
		postgresServer.unavailable(tb, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := db.Drop(ctx); err != nil {
			tb.Logf("drop database %s: %v", db.Name, err)
		}
	})
	return db.DSN
}

// Pool opens a pool on a new database for tb, prepared by migrate (the reconciler's
// postgres.Migrate), and closed when tb ends. It returns the database's URL too.
func Pool[T any](tb testing.TB, migrate func(context.Context, *pgxpool.Pool) (T, error)) (*pgxpool.Pool, string) {
	tb.Helper()
	dsn := Database(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := migrate(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return pool, dsn
}
