// Package testenv is test tooling (never imported by production code): it gives tests a real PostgreSQL database of their own (and,
// through natstest, a real NATS JetStream namespace).
//
// The server is TEST_DATABASE_URL (an admin connection string) when set; otherwise
// testcontainers-go starts one container per test binary. When neither is possible the test is
// skipped with a message, except when CI is set: there it fails.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/hotelpe/boletas/ingest/natstest"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// Image is the PostgreSQL image started when TEST_DATABASE_URL is not set.
const Image = "postgres:16-alpine"

var postgresServer = &natstest.Servicio{Nombre: "PostgreSQL", Env: "TEST_DATABASE_URL", Arrancar: startContainer}

// AdminURL returns a connection string allowed to create databases.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	return postgresServer.URL(tb)
}

func startContainer(ctx context.Context) (string, error) {
	c, err := tcpostgres.Run(ctx, Image,
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
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		postgresServer.Unavailable(tb, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool opens a pool on a new migrated database, closed when tb ends.
func Pool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	dsn := Database(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return pool, dsn
}
