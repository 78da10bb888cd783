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
		if got := len(r.publish(ctx, evs)); got != 3 {
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
