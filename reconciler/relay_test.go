package reconciler

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
)

// A crash after the events are published and before the outbox is marked makes the next sweep
// publish them again: the same event ID, so the events stream still holds one message each.
func TestRelayCaidaEntrePublicarYMarcar(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	stop := s.arrancar(nil)
	for n := 1; n <= 3; n++ {
		s.insertarPendiente("BRL1", n)
	}
	if err := stop(); err != nil { // streams exist; nothing consumes now
		t.Fatal(err)
	}
	// Apply three notifications straight through the store, as a worker would.
	store := postgres.New(s.pool)
	var recibidas []estado.Recibida
	for n := 1; n <= 3; n++ {
		e := recibidaDePrueba(t, aceptada("BRL1", n))
		recibidas = append(recibidas, e)
	}
	if _, err := store.Aplicar(context.Background(), recibidas, s.topo); err != nil {
		t.Fatal(err)
	}

	r := &relay{store: store, js: s.js, log: slog.New(slog.NewTextHandler(t.Output(), nil)), interval: time.Hour}
	// First attempt: published, then "crash" before marking.
	n, err := store.Relay(context.Background(), relayBatch, relayLease, func(ctx context.Context, evs []postgres.EventoPendiente) []int64 {
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
	r.sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("unpublished after the sweep = %d, want 0", c)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); got != 3 {
		t.Errorf("events stream holds %d messages, want 3 (one per state change)", got)
	}
}

// The events of a batch the worker commits are written claimed and handed to the relay, which
// publishes them without a sweep; meanwhile no sweep takes them. What the relay cannot take
// (its hand-off full) or had not published when it stopped loses its claim, for the next sweep.
func TestRelayPublicaLoQueElWorkerConfirma(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	stop := s.arrancar(nil)
	for n := 1; n <= 9; n++ {
		s.insertarPendiente("BRL2", n)
	}
	if err := stop(); err != nil { // streams exist; nothing consumes now
		t.Fatal(err)
	}
	store := postgres.New(s.pool)
	aplicar := func(desde int) []postgres.EventoPendiente {
		t.Helper()
		var recibidas []estado.Recibida
		for n := desde; n < desde+3; n++ {
			recibidas = append(recibidas, recibidaDePrueba(t, aceptada("BRL2", n)))
		}
		_, eventos, err := store.AplicarYReclamar(context.Background(), recibidas, s.topo, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(eventos) != 3 {
			t.Fatalf("AplicarYReclamar returned %d events, want 3", len(eventos))
		}
		return eventos
	}
	r := newRelay(store, s.js, slog.New(slog.NewTextHandler(t.Output(), nil)), nil, time.Hour, s.topo, nil)

	eventos := aplicar(1)
	r.sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox WHERE reclamado_hasta > now()`); c != 3 {
		t.Fatalf("after a sweep, %d claimed events in the outbox, want the 3 the worker holds", c)
	}
	r.handOff(context.Background(), eventos)
	// What run and finish do between them with a batch handed over.
	inflight := make(chan enVuelo, 1)
	eventos = r.coalesce(<-r.directos)
	inflight <- enVuelo{eventos, r.send(eventos), time.Now().Add(relayAckWait)}
	close(inflight)
	r.finish(context.Background(), inflight)
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("after publishing what the worker handed over, %d events in the outbox, want 0", c)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); got != 3 {
		t.Errorf("events stream holds %d messages, want 3", got)
	}

	// No room in the hand-off: the claim is released at once.
	full := &relay{store: store, js: s.js, log: r.log, directos: make(chan []postgres.EventoPendiente), topo: s.topo}
	full.handOff(context.Background(), aplicar(4))
	if c := s.count(`SELECT count(*) FROM outbox WHERE reclamado_hasta IS NULL`); c != 3 {
		t.Fatalf("after a hand-off with no room, %d unclaimed events, want 3", c)
	}
	// Handed over but not published when the relay stops: released too.
	r.handOff(context.Background(), aplicar(7))
	r.release()
	if c := s.count(`SELECT count(*) FROM outbox WHERE reclamado_hasta IS NULL`); c != 6 {
		t.Fatalf("after the relay stopped, %d unclaimed events, want 6", c)
	}
	r.sweep(context.Background())
	if c := s.count(`SELECT count(*) FROM outbox`); c != 0 {
		t.Fatalf("after the sweep, %d events in the outbox, want 0", c)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); got != 9 {
		t.Errorf("events stream holds %d messages, want 9", got)
	}
}
