package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5/pgxpool"
)

// aparcarMuchas parks n notifications for unknown boletas of serie BPAG, in one statement (as
// many batches would), aparcada_en one second apart.
func aparcarMuchas(tb testing.TB, pool *pgxpool.Pool, n int) {
	tb.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante,
			serie, numero, motivo, intentos, payload, aparcada_en)
		SELECT 'm' || lpad(g::text, 6, '0'), 'webhook', now(), 2, 'BPAG', g, 'no está', 1, repeat('x', 4096),
			now() - (1000000 - g) * interval '1 second'
		FROM generate_series(1, $1::int) g`, n)
	if err != nil {
		tb.Fatal(err)
	}
}

func TestAparcadasPorPaginas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	aparcarMuchas(t, pool, 250)

	var vistas []string
	var despues estado.CursorAparcada
	paginas := 0
	for {
		p, err := s.Aparcadas(ctx, estado.PaginaAparcadas{Todas: true, Despues: despues, Limit: estado.TamanoPagina})
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > estado.TamanoPagina {
			t.Fatalf("a page of %d rows, want at most %d", len(p), estado.TamanoPagina)
		}
		for _, a := range p {
			if a.Payload != "" {
				t.Fatalf("the list read the payload of %s", a.MessageID)
			}
			vistas = append(vistas, a.MessageID)
		}
		if len(p) < estado.TamanoPagina {
			break
		}
		paginas++
		// The cursor travels as text (the console's link, the command's -after).
		if despues, err = estado.ParseCursorAparcada(p[len(p)-1].Cursor().String()); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i := 1; i <= 250; i++ {
		want = append(want, fmt.Sprintf("m%06d", i))
	}
	mismos(t, "every page, in order", vistas, want)

	todas, err := s.AparcadasPorID(ctx, []string{"m000007", "m000200", "no-esta"})
	if err != nil || len(todas) != 2 || todas[0].MessageID != "m000007" || len(todas[1].Payload) != 4096 {
		t.Errorf("AparcadasPorID = %d rows, %v; want m000007 and m000200 with their payloads", len(todas), err)
	}
	if n, err := s.ContarAparcadas(ctx); err != nil || n != 250 {
		t.Errorf("ContarAparcadas = %d, %v; want 250", n, err)
	}
}

func TestContarAparcadasSigueAlTrigger(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	aparcarMuchas(t, pool, 10)
	e := nueva(t, map[string]any{"serie": "BCNT", "numero": 1})
	aplicar(t, s, contracts.Topologia{}, e)
	aplicar(t, s, contracts.Topologia{}, e) // parked again: the same row, no new one
	if _, err := s.Descartar(ctx, []string{"m000001", "m000002"}, "prueba"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // folded twice: still the same count
		if n, err := s.ContarAparcadas(ctx); err != nil || n != 9 {
			t.Errorf("ContarAparcadas = %d, %v; want 9", n, err)
		}
	}
	tieneFilas(t, pool, "aparcadas", 9)
	tieneFilas(t, pool, "aparcadas_conteo", 1)
}

// TestTopeDeAparcadas: with PARKED_MAX notifications waiting, the next one for an unknown
// comprobante is not parked nor audited: it comes back as SinEspacio, for the worker to
// dead-letter; the rest of its batch is applied.
func TestTopeDeAparcadas(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	s = s.ConTopeDeAparcadas(3)
	for numero := 1; numero <= 3; numero++ {
		v := aplicar(t, s, contracts.Topologia{}, nueva(t, map[string]any{"serie": "BTOP", "numero": numero}))
		if v[0].Efecto != estado.Aparcado {
			t.Fatalf("notification %d: %s, want aparcado", numero, v[0].Efecto)
		}
	}
	pendiente(t, pool, 2, "BBB1", 105)
	v := aplicar(t, s, contracts.Topologia{}, nueva(t, map[string]any{"serie": "BTOP", "numero": 4}), entrada(t, []byte(semilla)))
	if v[0].Efecto != estado.SinEspacio || v[1].Efecto != estado.Aplicado {
		t.Fatalf("veredictos %s, %s; want sin_espacio, aplicado", v[0].Efecto, v[1].Efecto)
	}
	t.Log(v[0].Motivo)
	tieneFilas(t, pool, "aparcadas", 3)
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "aparcado", "aplicado"})
	if got := inbox(t, pool); len(got) != 1 {
		t.Errorf("inbox = %v, want only the applied one", got)
	}
}

// TestHistoriaPorPaginas: a comprobante with thousands of audit rows; its timeline is read a
// page at a time, newest first, with the payloads cut.
func TestHistoriaPorPaginas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	const filas = 2500
	if _, err := pool.Exec(ctx, `INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie,
			numero, resultado, efecto, motivo, payload)
		SELECT 'h' || g, 'webhook', now(), 2, 'BHIS', 1, 'aceptado', 'conflicto', 'otro hash', repeat('p', 20000)
		FROM generate_series(1, $1::int) g`, filas); err != nil {
		t.Fatal(err)
	}
	clave := contracts.Clave{TipoDeComprobante: 2, Serie: "BHIS", Numero: 1}
	var antes estado.CursorHistoria
	var ids []int64
	for {
		as, acciones, err := s.Historia(ctx, clave, antes, estado.TamanoPagina)
		if err != nil {
			t.Fatal(err)
		}
		if len(acciones) != 0 || len(as) > estado.TamanoPagina {
			t.Fatalf("a page of %d audit rows and %d actions", len(as), len(acciones))
		}
		if len(as) == 0 {
			break
		}
		if len(ids) == 0 && as[0].MessageID != fmt.Sprint("h", filas) {
			t.Errorf("the first page starts with %s, want the newest", as[0].MessageID)
		}
		for _, a := range as {
			if len(a.Payload) != estado.MaxPayloadMostrado || a.Largo != 20000 {
				t.Fatalf("payload of %d bytes (largo %d), want cut to %d", len(a.Payload), a.Largo, estado.MaxPayloadMostrado)
			}
			ids = append(ids, a.ID)
		}
		antes.Auditada = as[len(as)-1].ID
	}
	if len(ids) != filas || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(ids)) != filas {
		t.Errorf("read %d rows over the pages, want %d, newest first, each once", len(ids), filas)
	}
}

func TestConflictosPorPaginas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	if _, err := pool.Exec(ctx, `INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie,
			numero, resultado, efecto, motivo, payload)
		SELECT 'c' || g, 'webhook', now(), 2, 'BCON', g, 'aceptado', CASE WHEN g % 2 = 0 THEN 'conflicto' ELSE 'aplicado' END,
			'm', '{}'
		FROM generate_series(1, 500) g`); err != nil {
		t.Fatal(err)
	}
	// Three reviewed: they come last.
	if _, err := pool.Exec(ctx, `INSERT INTO conflictos_revisados (notificacion_id, revisado_por, nota)
		SELECT id, 'ana', 'visto' FROM notificaciones WHERE efecto = 'conflicto' ORDER BY id LIMIT 3`); err != nil {
		t.Fatal(err)
	}
	var despues estado.CursorConflicto
	var vistos []string
	for {
		cs, err := s.Conflictos(ctx, despues, estado.TamanoPagina)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			vistos = append(vistos, fmt.Sprintf("%d%v", c.Clave.Numero, c.RevisadoPor != ""))
		}
		if len(cs) < estado.TamanoPagina {
			break
		}
		despues = cs[len(cs)-1].Cursor()
	}
	var want []string
	for n := 500; n > 6; n -= 2 {
		want = append(want, fmt.Sprintf("%dfalse", n))
	}
	want = append(want, "6true", "4true", "2true")
	mismos(t, "conflicts over the pages", vistos, want)
}
