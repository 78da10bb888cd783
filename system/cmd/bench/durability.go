package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// durability measures what the durability settings cost: JetStream publishes acknowledged with
// sync_interval: always (fsync before every acknowledgement) against the server's default (fsync
// every two minutes), and the reconciler's transactions with synchronous_commit on against off.
func durability(ctx context.Context, e environment) ([]Result, error) {
	var out []Result
	porDefecto, err := publishAgainst(ctx, e, "")
	if err != nil {
		return nil, err
	}
	siempre, err := publishAgainst(ctx, e, "sync_interval: always")
	if err != nil {
		return nil, err
	}
	out = append(out, withBaseline(Result{Scenario: "durability", Metric: "JetStream publish, sync_interval always", Value: siempre, Unit: "msg/s"},
		"default sync (2 min)", porDefecto))

	off, err := aplicarWith(ctx, e, "off")
	if err != nil {
		return nil, err
	}
	on, err := aplicarWith(ctx, e, "on")
	if err != nil {
		return nil, err
	}
	out = append(out, withBaseline(Result{Scenario: "durability", Metric: "apply, synchronous_commit on", Value: on, Unit: "notif/s"},
		"synchronous_commit off", off))
	return out, nil
}

// publishAgainst starts a nats-server of its own (bin/nats-server) with the given jetstream
// setting and measures acknowledged publishes per second: 64 publishers for 5 seconds.
func publishAgainst(ctx context.Context, e environment, ajuste string) (float64, error) {
	dir, err := os.MkdirTemp("", "bench-nats-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	srv, err := natsserver.Start(ctx, filepath.Join(e.bin, "nats-server"), dir, ajuste)
	if err != nil {
		return 0, fmt.Errorf("bin/nats-server (make bench builds it): %w", err)
	}
	defer srv.Kill()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	topo := contracts.Topologia{}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topo.StreamNotificaciones(), Subjects: topo.SubjectsNotificaciones(),
		Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute}); err != nil {
		return 0, err
	}
	body, _ := json.Marshal(simulador.Respuesta(contracts.Clave{TipoDeComprobante: 2, Serie: "BDUR", Numero: 1}, simulador.Aceptada))
	return publishFor(ctx, js, topo.SubjectNotificacion(contracts.OrigenWebhook), body, 64, 5*time.Second)
}

// publishFor publishes with n publishers for d, each waiting for its acknowledgement, with
// distinct message IDs, and returns acknowledged publishes per second.
func publishFor(ctx context.Context, js jetstream.JetStream, subject string, body []byte, n int, d time.Duration) (float64, error) {
	var ok, fails atomic.Int64
	var seq atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Go(func() {
			for time.Now().Before(stop) {
				id := "bench-" + strconv.FormatInt(seq.Add(1), 10)
				if _, err := js.Publish(ctx, subject, body, jetstream.WithMsgID(id)); err != nil {
					fails.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if f := fails.Load(); f > ok.Load()/100 {
		return 0, fmt.Errorf("%d publishes failed", f)
	}
	return float64(ok.Load()) / time.Since(start).Seconds(), nil
}

// aplicarWith applies 20,000 accepted notifications, batches of 100 in one transaction each as
// the reconciler does, with the given synchronous_commit.
func aplicarWith(ctx context.Context, e environment, syncCommit string) (float64, error) {
	const n, lote = 20_000, 100
	a, err := newIsolated(ctx, e, 2)
	if err != nil {
		return 0, err
	}
	defer a.close()
	if err := a.insertPendientes(ctx, "BSYN", n); err != nil {
		return 0, err
	}
	cfg, err := pgxpool.ParseConfig(a.db.DSN)
	if err != nil {
		return 0, err
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = syncCommit
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	store := postgres.New(pool)
	recibidas := make([]estado.Recibida, 0, lote)
	start := time.Now()
	for i := 1; i <= n; i++ {
		c := contracts.Clave{TipoDeComprobante: 2, Serie: "BSYN", Numero: i}
		body, _ := json.Marshal(simulador.Respuesta(c, simulador.Aceptada))
		nt, err := contracts.Decode(body)
		if err != nil {
			return 0, err
		}
		recibidas = append(recibidas, estado.Recibida{MessageID: contracts.MessageID(nt), Notificacion: nt, Payload: body,
			Origen: contracts.OrigenWebhook, Recibido: time.Now(), Intentos: 1})
		if len(recibidas) == lote {
			if _, _, err := store.Aplicar(ctx, recibidas, a.topo, 0); err != nil {
				return 0, err
			}
			recibidas = recibidas[:0]
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
