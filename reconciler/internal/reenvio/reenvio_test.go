package reenvio

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestReenviar: named rows replay only those; all of them are replayed across pages, each once.
func TestReenviar(t *testing.T) {
	t.Parallel()
	pool, _ := testkit.Pool(t, postgres.Migrate)
	_, js := testkit.Connect(t)
	topo := testkit.Namespace(t)
	ctx := context.Background()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	const n = 2*estado.TamanoPagina + 37
	if _, err := pool.Exec(ctx, `INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie,
			numero, motivo, intentos, payload, aparcada_en)
		SELECT 'r' || lpad(g::text, 4, '0'), 'webhook', now(), 2, 'BREN', g, 'no está', 1,
			format('{"tipo_de_comprobante":2,"serie":"BREN","numero":%s,"aceptada_por_sunat":true}', g),
			now() - (10000 - g) * interval '1 second'
		FROM generate_series(1, $1::int) g`, n); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Declare(ctx, js, topo, stream.Options{Replicas: 1, DuplicateWindow: time.Minute, MaxAge: time.Hour,
		EventsDuplicateWindow: time.Hour, Consumer: "reconciler", AckWait: 2 * time.Second, MaxDeliver: -1,
		MaxAckPending: 1000, MaxBytes: -1, DeadLetterMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool)
	publish := func(ctx context.Context, m contracts.Mensaje) error { return stream.Publish(ctx, js, m) }

	got, err := Reenviar(ctx, store, publish, topo, []string{"r0002", "r0200"}, nil)
	if err != nil || got != 2 {
		t.Fatalf("Reenviar(named) = %d, %v; want 2", got, err)
	}
	if r := count(`SELECT count(*) FROM aparcadas WHERE reenviada_en IS NOT NULL`); r != 2 {
		t.Errorf("%d marked replayed, want the 2 named", r)
	}
	if _, err := Reenviar(ctx, store, publish, topo, []string{"r0003", "no-esta"}, nil); err == nil {
		t.Error("Reenviar with an id that is not parked: no error")
	}

	var vistas []string
	paginas := 0
	got, err = Reenviar(ctx, store, publish, topo, nil, func(p []estado.Aparcada) {
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
	if published := testkit.StreamMessages(t, js, topo.StreamNotificaciones()); published != n {
		t.Errorf("%d messages on the stream, want %d", published, n)
	}
	if r := count(`SELECT count(*) FROM aparcadas WHERE reenviada_en IS NULL`); r != 0 {
		t.Errorf("%d not marked replayed", r)
	}
}
