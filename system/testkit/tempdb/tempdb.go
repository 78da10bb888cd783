// Package tempdb gives a tool a PostgreSQL database of its own on a shared server: created empty
// under a unique name, dropped when the tool is done with it.
package tempdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// Database is a database created by Create.
type Database struct {
	Name  string // prefix_ and eight random hex digits
	DSN   string // the admin connection string, pointed at this database
	admin string
}

// Create creates an empty database named prefix_<random> on the server of adminDSN, a
// connection allowed to CREATE DATABASE.
func Create(ctx context.Context, adminDSN, prefix string) (*Database, error) {
	u, err := url.Parse(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("admin connection string: %w", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	d := &Database{Name: prefix + "_" + hex.EncodeToString(b), admin: adminDSN}
	if err := d.exec(ctx, "CREATE DATABASE "+d.Name); err != nil {
		return nil, err
	}
	u.Path = "/" + d.Name
	d.DSN = u.String()
	return d, nil
}

// Drop drops the database, closing the connections still open on it.
func (d *Database) Drop(ctx context.Context) error {
	return d.exec(ctx, "DROP DATABASE IF EXISTS "+d.Name+" WITH (FORCE)")
}

func (d *Database) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("postgres %s: %w", redact(d.admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// redact hides the password of a connection string shown in an error.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable connection string)"
	}
	return u.Redacted()
}
