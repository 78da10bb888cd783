package main

import (
	"context"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit/tempdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// isolated is a database and a NATS namespace of a scenario's own, removed by cerrar.
type isolated struct {
	e    environment
	db   *tempdb.Database
	pool *pgxpool.Pool
	nc   *nats.Conn
	js   jetstream.JetStream
	topo contracts.Topologia
}

func newIsolated(ctx context.Context, e environment, maxConns int32) (*isolated, error) {
	db, err := tempdb.Create(ctx, e.adminDSN, "bench")
	if err != nil {
		return nil, err
	}
	// The NATS namespace takes the database's name: what one run left behind is found together.
	a := &isolated{e: e, db: db, topo: contracts.Topologia{Prefijo: db.Name}}
	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		a.close()
		return nil, err
	}
	cfg.MaxConns = maxConns
	if a.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		a.close()
		return nil, err
	}
	if _, err := postgres.Migrate(ctx, a.pool); err != nil {
		a.close()
		return nil, err
	}
	if a.nc, err = nats.Connect(e.natsURL); err != nil {
		a.close()
		return nil, err
	}
	a.js, _ = jetstream.New(a.nc)
	_, err = stream.Declare(ctx, a.js, a.topo, stream.Options{Replicas: e.streamReplicas(), DuplicateWindow: 2 * time.Minute,
		MaxAge: time.Hour, EventsDuplicateWindow: time.Hour, Consumer: "reconciler", AckWait: 30 * time.Second,
		MaxDeliver: -1, MaxAckPending: 1000})
	if err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *isolated) env() []string {
	return []string{"DATABASE_URL=" + a.db.DSN, "NATS_URL=" + a.e.natsURL, "NATS_PREFIX=" + a.topo.Prefijo,
		"STREAM_REPLICAS=" + strconv.Itoa(a.e.streamReplicas())}
}

func (a *isolated) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if a.js != nil {
		for _, s := range []string{a.topo.StreamNotificaciones(), a.topo.StreamEventos(), a.topo.StreamDeadLetters()} {
			_ = a.js.DeleteStream(ctx, s)
		}
	}
	if a.nc != nil {
		a.nc.Close()
	}
	if a.pool != nil {
		a.pool.Close()
	}
	_ = a.db.Drop(ctx)
}

// insertPendientes records n pending boletas as the billing system would, in one statement.
func (a *isolated) insertPendientes(ctx context.Context, serie string, n int) error {
	_, err := a.pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		SELECT 2, $1, g, current_date - 3 FROM generate_series(1, $2::int) g`, serie, n)
	return err
}
