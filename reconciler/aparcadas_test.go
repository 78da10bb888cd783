package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestTopeDeAparcadasVaALaDLQ: with PARKED_MAX 3, the 4th notification for an unknown
// comprobante is dead-lettered with its reason, not parked, and the worker goes on applying the
// others.
func TestTopeDeAparcadasVaALaDLQ(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	s.cfg.ParkedMax = 3
	s.arrancar(nil)
	for numero := 1; numero <= 3; numero++ {
		s.publicar(aceptada("BDES", numero))
		// One at a time: each is its own batch, so the cap is met exactly.
		testkit.Eventually(t, 10*time.Second, fmt.Sprintf("notification %d parked", numero), func() bool {
			return s.count(`SELECT count(*) FROM aparcadas`) == numero
		})
	}
	s.publicar(aceptada("BDES", 4))
	testkit.Eventually(t, 10*time.Second, "the 4th in the DLQ", func() bool {
		return testkit.StreamMessages(t, s.js, s.topo.StreamDLQ()) == 1
	})
	muertas, err := stream.Muertas(context.Background(), s.js, s.topo, 0, 10)
	if err != nil || len(muertas) != 1 {
		t.Fatalf("dead letters %+v, %v; want one", muertas, err)
	}
	if m := muertas[0].Motivo; !strings.Contains(m, "PARKED_MAX") || !strings.Contains(string(muertas[0].Payload), `"numero":4`) {
		t.Errorf("dead letter %q with %s, want the 4th with PARKED_MAX in its reason", m, muertas[0].Payload)
	}
	if n := s.count(`SELECT count(*) FROM aparcadas WHERE numero = 4`); n != 0 {
		t.Error("the 4th was parked")
	}
	// The worker goes on: a known comprobante is applied.
	s.insertarPendiente("BDES", 5)
	s.publicar(aceptada("BDES", 5))
	testkit.Eventually(t, 10*time.Second, "the known one applied", func() bool { return s.estado("BDES", 5) == "aceptado" })
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE numero = 4`); n != 0 {
		t.Errorf("the dead-lettered one has %d audit rows, want none (the dead letter is its record)", n)
	}
}

// TestReenviar: named rows replay only those; all of them are replayed across pages, each once.
func TestReenviar(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	ctx := context.Background()
	const n = 2*postgres.TamanoPagina + 37
	if _, err := s.pool.Exec(ctx, `INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie,
			numero, motivo, intentos, payload, aparcada_en)
		SELECT 'r' || lpad(g::text, 4, '0'), 'webhook', now(), 2, 'BREN', g, 'no está', 1,
			format('{"tipo_de_comprobante":2,"serie":"BREN","numero":%s,"aceptada_por_sunat":true}', g),
			now() - (10000 - g) * interval '1 second'
		FROM generate_series(1, $1::int) g`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Prepare(ctx, s.js, s.topo, s.cfg.streamOptions()); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(s.pool)

	got, err := Reenviar(ctx, store, s.js, s.topo, []string{"r0002", "r0200"}, nil)
	if err != nil || got != 2 {
		t.Fatalf("Reenviar(named) = %d, %v; want 2", got, err)
	}
	if r := s.count(`SELECT count(*) FROM aparcadas WHERE reenviada_en IS NOT NULL`); r != 2 {
		t.Errorf("%d marked replayed, want the 2 named", r)
	}
	if _, err := Reenviar(ctx, store, s.js, s.topo, []string{"r0003", "no-esta"}, nil); err == nil {
		t.Error("Reenviar with an id that is not parked: no error")
	}

	var vistas []string
	paginas := 0
	got, err = Reenviar(ctx, store, s.js, s.topo, nil, func(p []postgres.Aparcada) {
		paginas++
		for _, a := range p {
			vistas = append(vistas, a.MessageID)
		}
	})
	if err != nil || got != n-2 || paginas != 3 {
		t.Fatalf("Reenviar(all) = %d in %d pages, %v; want %d in 3", got, paginas, err, n-2)
	}
	if slices.Contains(vistas, "r0002") || len(slices.Compact(slices.Sorted(slices.Values(vistas)))) != n-2 {
		t.Errorf("replayed %d distinct, want each of the %d not replayed yet once", len(vistas), n-2)
	}
	if published := testkit.StreamMessages(t, s.js, s.topo.StreamNotificaciones()); published != n {
		t.Errorf("%d messages on the stream, want %d", published, n)
	}
	if r := s.count(`SELECT count(*) FROM aparcadas WHERE reenviada_en IS NULL`); r != 0 {
		t.Errorf("%d not marked replayed", r)
	}
}
