package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestEventosPendientesPorRondas walks three events through successive relay rounds of two.
func TestEventosPendientesPorRondas(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	aplicar(t, s, contracts.Topologia{}, aceptaciones(t, pool, 105, 106, 107)...)

	todos := func(_ context.Context, ev []estado.EventoPendiente) []int64 {
		ids := make([]int64, len(ev))
		for i, e := range ev {
			ids[i] = e.ID
		}
		return ids
	}
	ninguno := func(context.Context, []estado.EventoPendiente) []int64 { return nil }

	for _, paso := range []struct {
		nombre    string
		publicar  func(context.Context, []estado.EventoPendiente) []int64
		recibidos []string
		marcados  int
	}{
		{"los dos primeros", todos, []string{"2-BBB1-105.aceptado", "2-BBB1-106.aceptado"}, 2},
		{"el tercero, sin confirmar", ninguno, []string{"2-BBB1-107.aceptado"}, 0},
		{"el tercero otra vez", todos, []string{"2-BBB1-107.aceptado"}, 1},
		{"nada pendiente", todos, nil, 0},
	} {
		var recibidos []string
		marcados, err := s.Relay(t.Context(), 2, time.Minute, func(ctx context.Context, ev []estado.EventoPendiente) []int64 {
			for i, e := range ev {
				recibidos = append(recibidos, e.EventID)
				var decoded contracts.Evento
				if err := json.Unmarshal(e.Evento, &decoded); err != nil || decoded.ID != e.EventID || e.Subject != "boleta.aceptada" {
					t.Errorf("%s: event %d = %s on %s (%v), want the envelope of %s on boleta.aceptada", paso.nombre, e.ID, e.Evento, e.Subject, err, e.EventID)
				}
				if i > 0 && e.ID <= ev[i-1].ID {
					t.Errorf("%s: events not ordered by id: %d after %d", paso.nombre, e.ID, ev[i-1].ID)
				}
			}
			return paso.publicar(ctx, ev)
		})
		if err != nil {
			t.Fatalf("%s: Relay: %v", paso.nombre, err)
		}
		mismos(t, paso.nombre+": published", recibidos, paso.recibidos)
		if marcados != paso.marcados {
			t.Errorf("%s: Relay marked %d, want %d", paso.nombre, marcados, paso.marcados)
		}
	}
	mismos(t, "left in the outbox", columna(t, pool, `SELECT event_id FROM outbox ORDER BY id`), nil)
}

// TestRelayConcurrente runs two relays whose publish calls overlap: the second takes the rows the
// first has not claimed, instead of waiting for them.
func TestRelayConcurrente(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	encolar(t, pool, "a", "b", "c", "d")

	var (
		dentro  atomic.Int32
		ambos   = make(chan struct{})
		mu      sync.Mutex
		vistos  [][]string
		wg      sync.WaitGroup
		marcado atomic.Int64
	)
	publicar := func(_ context.Context, ev []estado.EventoPendiente) []int64 {
		var ids []string
		for _, e := range ev {
			ids = append(ids, e.EventID)
		}
		mu.Lock()
		vistos = append(vistos, ids)
		mu.Unlock()
		if dentro.Add(1) == 2 {
			close(ambos)
		}
		select {
		case <-ambos:
		case <-time.After(5 * time.Second):
			t.Error("the other relay never got to publish while this one held its rows")
		}
		out := make([]int64, len(ev))
		for i, e := range ev {
			out[i] = e.ID
		}
		return out
	}
	for range 2 {
		wg.Go(func() {
			n, err := s.Relay(t.Context(), 2, time.Minute, publicar)
			if err != nil {
				t.Errorf("Relay: %v", err)
			}
			marcado.Add(int64(n))
		})
	}
	wg.Wait()

	if len(vistos) != 2 {
		t.Fatalf("publish called %d times, want 2", len(vistos))
	}
	todos := slices.Concat(vistos...)
	slices.Sort(todos)
	mismos(t, "events published by both relays", todos, []string{"a", "b", "c", "d"})
	if marcado.Load() != 4 {
		t.Errorf("marked %d, want 4", marcado.Load())
	}
}

// TestRelayNoRetieneBloqueos: while a relay waits for JetStream, no transaction holds the outbox
// rows, and a relay that died with a claim leaves its events to another once the claim expires.
func TestRelayNoRetieneBloqueos(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	encolar(t, pool, "a", "b")

	n, err := s.Relay(t.Context(), 10, time.Minute, func(ctx context.Context, ev []estado.EventoPendiente) []int64 {
		// Another session can lock every row while we "wait for acknowledgements".
		var bloqueadas int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM outbox FOR UPDATE NOWAIT) x`).Scan(&bloqueadas)
		if err != nil || bloqueadas != 2 {
			t.Errorf("outbox rows locked during publish: count %d, err %v", bloqueadas, err)
		}
		return nil // nothing acknowledged: both are released
	})
	if err != nil || n != 0 {
		t.Fatalf("Relay = %d, %v", n, err)
	}

	// A relay that claims and dies (no Publicados): the claim keeps the others off until it expires.
	if ev, err := s.Claim(t.Context(), 10, 300*time.Millisecond); err != nil || len(ev) != 2 {
		t.Fatalf("Reclamar = %d events, %v; want 2", len(ev), err)
	}
	if ev, err := s.Claim(t.Context(), 10, time.Minute); err != nil || len(ev) != 0 {
		t.Fatalf("Reclamar while claimed = %d events, %v; want 0", len(ev), err)
	}
	testkit.Eventually(t, 10*time.Second, "the expired claim taken over", func() bool {
		ev, err := s.Claim(t.Context(), 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return len(ev) == 2
	})
}

// encolar writes unpublished outbox rows, in order, as Aplicar would.
func encolar(tb testing.TB, pool *pgxpool.Pool, eventIDs ...string) {
	tb.Helper()
	for _, id := range eventIDs {
		_, err := pool.Exec(context.Background(), `INSERT INTO outbox (event_id, subject, evento)
			VALUES ($1, 'boleta.aceptada', jsonb_build_object('id', $1::text))`, id)
		if err != nil {
			tb.Fatalf("outbox %s: %v", id, err)
		}
	}
}
