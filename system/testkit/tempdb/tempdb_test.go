package tempdb_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/testkit/tempdb"
	"github.com/jackc/pgx/v5"
)

func TestCreateAndDrop(t *testing.T) {
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TEST_DATABASE_URL is not set")
		}
		t.Skip("TEST_DATABASE_URL is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := tempdb.Create(ctx, admin, "tempdb")
	if err != nil {
		t.Fatal(err)
	}
	b, err := tempdb.Create(ctx, admin, "tempdb")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Drop(ctx)
	if a.Name == b.Name || !strings.HasPrefix(a.Name, "tempdb_") {
		t.Errorf("names %q and %q", a.Name, b.Name)
	}
	conn, err := pgx.Connect(ctx, a.DSN)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil || name != a.Name {
		t.Errorf("connected to %q (%v), want %q", name, err, a.Name)
	}
	// Drop closes the connections still open on it.
	if err := a.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, a.DSN); err == nil {
		t.Error("the database is still there")
	}
}
