package relay

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/metrics"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
)

// fixture is a migrated database and a NATS namespace with the streams declared, on which a
// relay runs alone: the tests apply notifications straight through the store, as a worker would.
type fixture struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *postgres.Store
	js    jetstream.JetStream
	topo  contracts.Topologia
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool, _ := testkit.Pool(t, postgres.Migrate)
	_, js := testkit.Connect(t)
	topo := testkit.Namespace(t)
	if _, err := stream.Declare(context.Background(), js, topo, stream.Options{Replicas: 1, DuplicateWindow: time.Minute,
		MaxAge: time.Hour, EventsDuplicateWindow: time.Hour, Consumer: "reconciler", AckWait: 2 * time.Second,
		MaxDeliver: -1, MaxAckPending: 1000, MaxBytes: -1, DeadLetterMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, pool: pool, store: postgres.New(pool), js: js, topo: topo}
}

func (f *fixture) newRelay() *Relay {
	return New(f.store, f.js, f.topo, time.Hour, (*metrics.Metrics)(nil), slog.New(slog.NewTextHandler(f.t.Output(), nil)))
}

// aplicar inserts boletas serie-desde..hasta pending and applies their acceptance, its events
// claimed for claim (0: written unclaimed, for a sweep).
func (f *fixture) aplicar(serie string, desde, hasta int, claim time.Duration) []estado.EventoPendiente {
	f.t.Helper()
	ctx := context.Background()
	var recibidas []estado.Recibida
	for n := desde; n <= hasta; n++ {
		if _, err := f.pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero) VALUES (2, $1, $2)`, serie, n); err != nil {
			f.t.Fatal(err)
		}
		body := fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":%q,"numero":%d,"aceptada_por_sunat":true,
			"sunat_responsecode":"0","enlace_del_cdr":"https://www.nubefact.com/cpe/%[1]s-%[2]d.cdr","codigo_hash":"hash-%[1]s-%[2]d="}`, serie, n)
		nt, err := contracts.Decode(body)
		if err != nil {
			f.t.Fatal(err)
		}
		recibidas = append(recibidas, estado.Recibida{MessageID: contracts.MessageID(nt), Notificacion: nt, Payload: body,
			Origen: contracts.OrigenWebhook, Recibido: time.Now(), Intentos: 1})
	}
	if claim == 0 {
		if _, _, err := f.store.Aplicar(ctx, recibidas, f.topo, 0); err != nil {
			f.t.Fatal(err)
		}
		return nil
	}
	_, eventos, err := f.store.Aplicar(ctx, recibidas, f.topo, claim)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(eventos) != len(recibidas) {
		f.t.Fatalf("Aplicar returned %d events, want %d", len(eventos), len(recibidas))
	}
	return eventos
}

func (f *fixture) count(query string) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// A crash after the events are published and before the outbox is marked makes the next sweep
// publish them again: the same event ID, so the events stream still holds one message each.
func TestRelayCaidaEntrePublicarYMarcar(t *testing.T) {
	t.Parallel()
	s := newFixture(t)
	s.aplicar("BRL1", 1, 3, 0)
	store := s.store
	r := s.newRelay()
	// First attempt: published, then "crash" before marking.
	n, err := store.Relay(context.Background(), relayBatch, sweepClaim, func(ctx context.Context, evs []estado.EventoPendiente) []int64 {
		if got := len(r.publishOutbox(ctx, evs)); got != 3 {
			t.Errorf("published %d of 3", got)
		}
		return nil
	})
	if err != nil || n != 0 {
		t.Fatalf("relay: marked %d, err %v", n, err)
	}
	if c := s.count(`SELECT count(*) FROM outbox`); c != 3 {
		t.Fatalf("unpublished = %d, want 3", c)
	}
	r.Sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("unpublished after the sweep = %d, want 0", c)
	}
	if got := testkit.StreamMessages(t, s.js, s.topo.StreamEventos()); got != 3 {
		t.Errorf("events stream holds %d messages, want 3 (one per state change)", got)
	}
}

// The events of a batch the worker commits are written claimed and handed to the relay, which
// publishes them without a sweep; meanwhile no sweep takes them. What the relay cannot take
// (its hand-off full) or had not published when it stopped loses its claim, for the next sweep.
func TestRelayPublicaLoQueElWorkerConfirma(t *testing.T) {
	t.Parallel()
	s := newFixture(t)
	aplicar := func(desde int) []estado.EventoPendiente { return s.aplicar("BRL2", desde, desde+2, time.Minute) }
	r := s.newRelay()

	eventos := aplicar(1)
	r.Sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox WHERE claimed_until > now()`); c != 3 {
		t.Fatalf("after a sweep, %d claimed events in the outbox, want the 3 the worker holds", c)
	}
	r.HandOff(context.Background(), eventos)
	// What run and finish do between them with a batch handed over.
	inflight := make(chan sent, 1)
	eventos = r.coalesce(<-r.directos)
	inflight <- sent{eventos, r.send(eventos), time.Now().Add(AckWait)}
	close(inflight)
	r.finish(context.Background(), inflight)
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("after publishing what the worker handed over, %d events in the outbox, want 0", c)
	}
	if got := testkit.StreamMessages(t, s.js, s.topo.StreamEventos()); got != 3 {
		t.Errorf("events stream holds %d messages, want 3", got)
	}

	// No room in the hand-off: the claim is released at once.
	full := &Relay{store: s.store, js: s.js, log: r.log, directos: make(chan []estado.EventoPendiente), topo: s.topo}
	full.HandOff(context.Background(), aplicar(4))
	if c := s.count(`SELECT count(*) FROM outbox WHERE claimed_until IS NULL`); c != 3 {
		t.Fatalf("after a hand-off with no room, %d unclaimed events, want 3", c)
	}
	// Handed over but not published when the relay stops: released too.
	r.HandOff(context.Background(), aplicar(7))
	r.release()
	if c := s.count(`SELECT count(*) FROM outbox WHERE claimed_until IS NULL`); c != 6 {
		t.Fatalf("after the relay stopped, %d unclaimed events, want 6", c)
	}
	r.Sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("after the sweep, %d events in the outbox, want 0", c)
	}
	if got := testkit.StreamMessages(t, s.js, s.topo.StreamEventos()); got != 9 {
		t.Errorf("events stream holds %d messages, want 9", got)
	}
}
