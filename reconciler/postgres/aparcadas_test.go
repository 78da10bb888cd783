package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
)

func TestAplicarDesconocidoNoEscribeNada(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 106) // a neighbour, not the notification's comprobante
	antes := foto(t, pool)

	salidas := aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))

	mismos(t, "salidas", resumenes(t, salidas), []string{"desconocido →"})
	// No inbox row either, so the retry of the same message can still apply it.
	mismaFoto(t, antes, foto(t, pool))
}

// TestAparcar follows a notification whose comprobante never showed up: parked, parked again,
// replayed by ops, and finally applied once the billing system inserts the row.
func TestAparcar(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	e := entrada(t, []byte(semilla))
	e.Aparcar, e.Intentos = true, 10

	salidas := aplicar(t, s, contracts.Topologia{}, e)

	mismos(t, "salidas", resumenes(t, salidas), []string{"aparcado →"})
	if !strings.Contains(salidas[0].Motivo, "10 intentos") {
		t.Errorf("motivo %q does not say how many attempts were made", salidas[0].Motivo)
	}
	a := unaAparcada(t, s, false)
	if a.AparcadaEn.IsZero() {
		t.Error("aparcada_en is zero")
	}
	a.AparcadaEn, a.RecibidoEn = time.Time{}, a.RecibidoEn.UTC()
	mismoJSON(t, "aparcada", a, postgres.Aparcada{
		MessageID: e.MessageID, Origen: contracts.OrigenWebhook, RecibidoEn: recibido, Remitente: ptr(remitente),
		TipoDeComprobante: 2, Serie: "BBB1", Numero: 105, Motivo: salidas[0].Motivo,
		Intentos: 10, Payload: semilla, Veces: 1,
	})
	audit := auditoria(t, pool)
	if len(audit) != 1 || audit[0].Efecto != "aparcado" || audit[0].EstadoAnterior != nil || audit[0].Payload != semilla {
		t.Errorf("audit = %+v, want one aparcado row with the payload and no estado", audit)
	}
	mismos(t, "inbox", inbox(t, pool), nil)
	mismos(t, "outbox", eventosEnOutbox(t, pool), nil)

	e.Intentos = 12
	aplicar(t, s, contracts.Topologia{}, e)
	if a := unaAparcada(t, s, false); a.Veces != 2 || a.Intentos != 12 {
		t.Errorf("parked again: veces %d, intentos %d; want 2, 12", a.Veces, a.Intentos)
	}

	if err := s.MarcarReenviada(ctx, e.MessageID); err != nil {
		t.Fatal(err)
	}
	if pendientes := aparcadas(t, s, false); len(pendientes) != 0 {
		t.Errorf("Aparcadas(false) after MarcarReenviada = %+v, want none", pendientes)
	}
	if a := unaAparcada(t, s, true); a.ReenviadaEn == nil {
		t.Error("Aparcadas(true): reenviada_en is null after MarcarReenviada")
	}

	// The billing system finally records the boleta; the replay applies the parked message.
	pendiente(t, pool, 2, "BBB1", 105)
	replay := e
	replay.Origen, replay.Aparcar, replay.Intentos = contracts.OrigenReplay, false, 1
	salidas = aplicar(t, s, contracts.Topologia{}, replay)
	mismos(t, "salidas of the replay", resumenes(t, salidas), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
	mismos(t, "inbox", inbox(t, pool), []string{e.MessageID})
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "aplicado"})
}

func TestAparcadasOrdenYFiltro(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	var ids []string
	for _, numero := range []int{300, 100, 200} {
		e := nueva(t, map[string]any{"numero": numero})
		e.Aparcar = true
		aplicar(t, s, contracts.Topologia{}, e) // one transaction each: aparcada_en increases
		ids = append(ids, e.MessageID)
	}
	if err := s.MarcarReenviada(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		todas bool
		want  []string
	}{
		{false, []string{ids[0], ids[2]}},
		{true, ids},
	} {
		var got []string
		for _, a := range aparcadas(t, s, tc.todas) {
			got = append(got, a.MessageID)
		}
		mismos(t, fmt.Sprintf("Aparcadas(%v)", tc.todas), got, tc.want)
	}
	tieneFilas(t, pool, "aparcadas", 3)
}

func aparcadas(tb testing.TB, s *postgres.Store, todas bool) []postgres.Aparcada {
	tb.Helper()
	a, err := s.Aparcadas(context.Background(), todas)
	if err != nil {
		tb.Fatalf("Aparcadas(%v): %v", todas, err)
	}
	return a
}

func unaAparcada(tb testing.TB, s *postgres.Store, todas bool) postgres.Aparcada {
	tb.Helper()
	a := aparcadas(tb, s, todas)
	if len(a) != 1 {
		tb.Fatalf("Aparcadas(%v) = %+v, want one", todas, a)
	}
	return a[0]
}
