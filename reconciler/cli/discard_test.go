package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
)

// `discard -older-than` discards every parked notification it names, however many batches that
// takes, says how many, and leaves the younger ones waiting.
func TestDiscardOlderThanDiscardsEveryBatch(t *testing.T) {
	t.Parallel()
	pool, dsn := testkit.Pool(t, postgres.Migrate)
	ctx := context.Background()
	const viejas, recientes = 2*estado.DescartesPorLlamada + 500, 3
	if _, err := pool.Exec(ctx, `INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero,
			motivo, intentos, payload, aparcada_en)
		SELECT '2-BPN1-' || i || '.aceptado.0', 'webhook', now(), 2, 'BPN1', i, 'desconocido', 1, '{}',
			CASE WHEN i <= $1::int THEN now() - interval '3 days' ELSE now() END
		FROM generate_series(1, $1::int + $2::int) i`, viejas, recientes); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	cfg := reconciler.Config{DatabaseURL: dsn, MaxConns: 2}
	if err := Ejecutar(ctx, cfg, []string{"discard", "-reason", "emitidas desde el panel", "-older-than", "48h"}, &out, &errOut); err != nil {
		t.Fatalf("discard: %v\n%s", err, errOut.String())
	}
	if want := "2500 notification(s) discarded"; !strings.Contains(out.String(), want) {
		t.Errorf("output does not say %q:\n...%s", want, out.String()[max(0, out.Len()-300):])
	}
	listed := 0
	for line := range strings.Lines(out.String()) {
		if strings.HasPrefix(line, "discarded ") {
			listed++
		}
	}
	if listed != viejas {
		t.Errorf("%d discarded notifications listed, want %d", listed, viejas)
	}
	var parked, audited int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM aparcadas),
			(SELECT count(*) FROM notificaciones WHERE efecto = 'descartado' AND motivo LIKE '%emitidas desde el panel%')`).
		Scan(&parked, &audited); err != nil {
		t.Fatal(err)
	}
	if parked != recientes || audited != viejas {
		t.Errorf("after discard: %d parked (want the %d recent ones), %d discards audited (want %d)", parked, recientes, audited, viejas)
	}
}
