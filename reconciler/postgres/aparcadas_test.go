package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
)

// TestAparcar follows a notification whose comprobante is not in the table: parked at once
// (nothing else written), parked again, replayed by ops, and applied once the billing system
// inserts the row.
func TestAparcar(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 106) // a neighbour, not the notification's comprobante
	antes := foto(t, pool, "comprobantes", "inbox", "outbox")
	e := entrada(t, []byte(semilla))
	e.Intentos = 1

	veredictos := aplicar(t, s, contracts.Topologia{}, e)

	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aparcado →"})
	mismaFoto(t, antes, foto(t, pool, "comprobantes", "inbox", "outbox"))
	a := unaAparcada(t, s, false)
	if a.AparcadaEn.IsZero() {
		t.Error("aparcada_en is zero")
	}
	a.AparcadaEn, a.RecibidoEn = time.Time{}, a.RecibidoEn.UTC()
	mismoJSON(t, "aparcada", a, estado.Aparcada{
		MessageID: e.MessageID, Origen: contracts.OrigenWebhook, RecibidoEn: recibido, Remitente: ptr(remitente),
		TipoDeComprobante: 2, Serie: "BBB1", Numero: 105, Motivo: veredictos[0].Motivo,
		Intentos: 1, Payload: semilla, Veces: 1,
	})
	audit := auditoria(t, pool)
	if len(audit) != 1 || audit[0].Efecto != "aparcado" || audit[0].EstadoAnterior != nil || audit[0].Payload != semilla {
		t.Errorf("audit = %+v, want one aparcado row with the payload and no estado", audit)
	}

	e.Intentos = 2
	aplicar(t, s, contracts.Topologia{}, e)
	if a := unaAparcada(t, s, false); a.Veces != 2 || a.Intentos != 2 || a.Lista {
		t.Errorf("parked again: veces %d, intentos %d, lista %v; want 2, 2, false", a.Veces, a.Intentos, a.Lista)
	}

	if err := s.MarcarReenviadas(ctx, []string{e.MessageID}); err != nil {
		t.Fatal(err)
	}
	if pendientes := aparcadas(t, s, false); len(pendientes) != 0 {
		t.Errorf("Aparcadas(false) after MarcarReenviadas = %+v, want none", pendientes)
	}
	if a := unaAparcada(t, s, true); a.ReenviadaEn == nil {
		t.Error("Aparcadas(true): reenviada_en is null after MarcarReenviadas")
	}

	// The billing system finally records the boleta: the trigger marks it ready, and the replay
	// applies the parked message and removes it from the table.
	pendiente(t, pool, 2, "BBB1", 105)
	if a := unaAparcada(t, s, true); !a.Lista {
		t.Error("the INSERT did not mark the parked notification ready")
	}
	replay := e
	replay.Reenvio, replay.Intentos = true, 1
	veredictos = aplicar(t, s, contracts.Topologia{}, replay)
	mismos(t, "veredictos of the replay", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
	mismos(t, "inbox", inbox(t, pool), []string{e.MessageID})
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "aplicado"})
	tieneFilas(t, pool, "aparcadas", 0)
}

// TestAplicarListas: a parked notification is applied by AplicarListas once its comprobante is
// inserted, however long it waited, with the same inbox, audit and outbox rules; one not yet
// ready stays.
func TestAplicarListas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	lista, espera := entrada(t, []byte(semilla)), nueva(t, map[string]any{"numero": 106})
	aplicar(t, s, contracts.Topologia{}, lista, espera)
	if _, err := pool.Exec(ctx, `UPDATE aparcadas SET aparcada_en = now() - interval '14 days'`); err != nil {
		t.Fatal(err)
	}
	// Nothing is ready: nothing happens.
	if veredictos := aplicarListas(t, s); len(veredictos) != 0 {
		t.Fatalf("AplicarListas before any INSERT = %+v", veredictos)
	}

	pendiente(t, pool, 2, "BBB1", 105)
	veredictos := aplicarListas(t, s)
	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
	if !strings.Contains(veredictos[0].Motivo, "esperó 336h") {
		t.Errorf("motivo %q does not say how long it waited", veredictos[0].Motivo)
	}
	if c := comprobante(t, pool, 105); c.Estado != "aceptado" {
		t.Errorf("estado = %s, want aceptado", c.Estado)
	}
	mismos(t, "inbox", inbox(t, pool), []string{lista.MessageID})
	mismos(t, "outbox", eventosEnOutbox(t, pool), []string{"2-BBB1-105.aceptado"})
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "aplicado"})
	mismos(t, "still parked", columna(t, pool, `SELECT message_id FROM aparcadas`), []string{espera.MessageID})

	// Applied once: a second pass finds nothing.
	if veredictos := aplicarListas(t, s); len(veredictos) != 0 {
		t.Fatalf("second AplicarListas = %+v", veredictos)
	}
}

// TestMarcarListas covers the INSERT the trigger could not see: a comprobante committed while
// the notification was being parked.
func TestMarcarListas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
	// As if the INSERT had raced the parking: the row exists, the notification is not ready.
	pendiente(t, pool, 2, "BBB1", 105)
	if _, err := pool.Exec(ctx, `UPDATE aparcadas SET lista = false`); err != nil {
		t.Fatal(err)
	}
	// The tick's sweep looks at recent ones only; the minute's at all.
	if _, err := pool.Exec(ctx, `UPDATE aparcadas SET aparcada_en = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MarcarListas(ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("MarcarListas(1m) of a notification parked 2 minutes ago = %d, %v; want 0", n, err)
	}
	n, err := s.MarcarListas(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("MarcarListas(0) = %d, %v; want 1", n, err)
	}
	if a := unaAparcada(t, s, false); !a.Lista {
		t.Error("not ready after MarcarListas")
	}
}

// TestDescartar: ops discard parked notifications; the audit keeps them, the table does not.
func TestDescartar(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	a, b := entrada(t, []byte(semilla)), nueva(t, map[string]any{"numero": 106})
	aplicar(t, s, contracts.Topologia{}, a, b)

	done, err := s.Descartar(ctx, []string{a.MessageID, "no-such-id"}, "descartada por ops: emitida desde el panel")
	if err != nil || len(done) != 1 || done[0].MessageID != a.MessageID {
		t.Fatalf("Descartar = %+v, %v; want just %s", done, err, a.MessageID)
	}
	mismos(t, "still parked", columna(t, pool, `SELECT message_id FROM aparcadas`), []string{b.MessageID})
	audit := auditoria(t, pool)
	last := audit[len(audit)-1]
	if last.Efecto != "descartado" || last.MessageID != a.MessageID || last.Payload != semilla ||
		!strings.Contains(last.Motivo, "emitida desde el panel") {
		t.Errorf("last audit row = %+v, want descartado with the payload and the reason", last)
	}

	// By age: nothing has waited an hour, then everything has.
	if done, err := s.DescartarAntiguas(ctx, time.Hour, "vieja"); err != nil || len(done) != 0 {
		t.Fatalf("DescartarAntiguas(1h) = %+v, %v; want none", done, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE aparcadas SET aparcada_en = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if done, err := s.DescartarAntiguas(ctx, time.Hour, "vieja"); err != nil || len(done) != 1 {
		t.Fatalf("DescartarAntiguas(1h) after 2h = %+v, %v; want one", done, err)
	}
	tieneFilas(t, pool, "aparcadas", 0)
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "descartado", "descartado"})
}

func TestAparcadasOrdenYFiltro(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	var ids []string
	for _, numero := range []int{300, 100, 200} {
		e := nueva(t, map[string]any{"numero": numero})
		aplicar(t, s, contracts.Topologia{}, e) // one transaction each: aparcada_en increases
		ids = append(ids, e.MessageID)
	}
	if err := s.MarcarReenviadas(ctx, ids[1:2]); err != nil {
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

// aplicarListas applies every ready parked notification, as the reconciler's loop does.
func aplicarListas(tb testing.TB, s *postgres.Store) []estado.Veredicto {
	tb.Helper()
	_, _, veredictos, err := s.AplicarListas(context.Background(), contracts.Topologia{},
		estado.Listas{Limit: 10, Decode: contracts.Decode})
	if err != nil {
		tb.Fatalf("AplicarListas: %v", err)
	}
	return veredictos
}

// A re-park of a notification (NubeFacT retried it) that waits on the row the billing INSERT's
// trigger is marking must not undo the mark.
func TestAparcarDeNuevoNoBorraLista(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	e := entrada(t, []byte(semilla))
	aplicar(t, s, contracts.Topologia{}, e)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero) VALUES (2, 'BBB1', 105)`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, _, err := s.Aplicar(context.Background(), []estado.Recibida{e}, contracts.Topologia{}, 0)
		done <- err
	}()
	esperarBloqueo(t, pool)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := unaAparcada(t, s, true); !a.Lista {
		t.Error("lista = false after the INSERT committed: the re-park overwrote the trigger's mark")
	}
}

// A parked aceptado and its anulación are applied in the order they were received, whatever
// order they were parked in.
func TestAplicarListasEnOrdenDeLlegada(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	acepta, anula := entrada(t, []byte(semilla)), nueva(t, anulacion)
	anula.Recibido = recibido.Add(time.Hour)
	aplicar(t, s, contracts.Topologia{}, anula, acepta) // parked in one transaction, anulación first
	pendiente(t, pool, 2, "BBB1", 105)
	veredictos := aplicarListas(t, s)
	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado",
		"aplicado aceptado→anulado 2-BBB1-105.anulado"})
}

// leerListas claims every ready parked notification for a minute, as the reconciler's loop does
// before it verifies them.
func leerListas(tb testing.TB, s *postgres.Store, ids ...string) []estado.Recibida {
	tb.Helper()
	tomadas, recibidas, err := s.LeerListas(context.Background(), estado.Listas{Limit: 10, IDs: ids, Decode: contracts.Decode, Claim: time.Minute})
	if err != nil {
		tb.Fatalf("LeerListas: %v", err)
	}
	if len(tomadas) != len(recibidas) {
		tb.Fatalf("LeerListas took %d, returned %d (none is invalid here)", len(tomadas), len(recibidas))
	}
	return recibidas
}

// LeerListas reads the ready ones in the order AplicarListas takes them, and claims them: until
// the claim expires another reading gets none of them, unless it names them. It applies,
// discards and audits nothing.
func TestLeerListas(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	acepta, anula, espera := entrada(t, []byte(semilla)), nueva(t, anulacion), nueva(t, map[string]any{"numero": 106})
	anula.Recibido = recibido.Add(time.Hour)
	aplicar(t, s, contracts.Topologia{}, anula, acepta, espera)
	pendiente(t, pool, 2, "BBB1", 105)
	antes := foto(t, pool, "comprobantes", "notificaciones")
	var got []string
	for _, e := range leerListas(t, s) {
		if e.AparcadaEn.IsZero() || e.Intentos != 1 || e.Notificacion.Clave().Numero != 105 {
			t.Errorf("read %s: aparcada_en %v, intentos %d, numero %d", e.MessageID, e.AparcadaEn, e.Intentos, e.Notificacion.Clave().Numero)
		}
		got = append(got, e.MessageID)
	}
	mismos(t, "read", got, []string{acepta.MessageID, anula.MessageID})
	mismaFoto(t, antes, foto(t, pool, "comprobantes", "notificaciones"))
	tieneFilas(t, pool, "aparcadas", 3)
	if again := leerListas(t, s); len(again) != 0 {
		t.Errorf("a second reading while they are claimed got %d, want none", len(again))
	}
	if named := leerListas(t, s, acepta.MessageID); len(named) != 1 || named[0].MessageID != acepta.MessageID {
		t.Errorf("reading one by its message ID got %d, want it", len(named))
	}
	if _, err := pool.Exec(t.Context(), `UPDATE aparcadas SET claimed_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if expired := leerListas(t, s); len(expired) != 2 {
		t.Errorf("once the claim expired, a reading got %d, want the 2 ready again", len(expired))
	}
}

// A payload decode no longer accepts is discarded, audited once, and not returned.
func TestLeerListasDescartaLasInvalidas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
	pendiente(t, pool, 2, "BBB1", 105)
	rechaza := func([]byte) (contracts.Notificacion, error) {
		return contracts.Notificacion{}, errors.New("enlace fuera de ENLACE_HOSTS")
	}
	for range 2 {
		_, recibidas, err := s.LeerListas(ctx, estado.Listas{Limit: 10, Decode: rechaza, Claim: time.Minute})
		if err != nil || len(recibidas) != 0 {
			t.Fatalf("LeerListas = %+v, %v; want none", recibidas, err)
		}
	}
	tieneFilas(t, pool, "aparcadas", 0)
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "descartado"})
}

// A webhook verification keeps waiting (NubeFacT could not confirm it yet) is not applied,
// counts one more attempt, and is no longer ready until the full sweep marks it again.
func TestAplicarVerificadasHaceEsperar(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	e := entrada(t, []byte(semilla))
	aplicar(t, s, contracts.Topologia{}, e)
	pendiente(t, pool, 2, "BBB1", 105)
	leidas := leerListas(t, s)
	tomadas, aplicadas, veredictos, err := s.AplicarVerificadas(ctx, contracts.Topologia{}, leidas, []string{e.MessageID})
	if err != nil || len(aplicadas) != 0 || len(veredictos) != 0 {
		t.Fatalf("AplicarVerificadas = %v, %v; want nothing applied", resumenes(t, veredictos), err)
	}
	mismos(t, "taken", tomadas, []string{e.MessageID})
	if a := unaAparcada(t, s, false); a.Lista || a.Intentos != 2 {
		t.Errorf("after waiting: lista %v, intentos %d; want false, 2", a.Lista, a.Intentos)
	}
	if c := comprobante(t, pool, 105); c.Estado != "pendiente" {
		t.Errorf("estado = %s, want pendiente", c.Estado)
	}
	if got := leerListas(t, s); len(got) != 0 {
		t.Errorf("LeerListas after waiting = %+v, want none ready", got)
	}
}

// A parked webhook NubeFacT's answer replaced is applied as that answer, recorded, and no longer
// parked; the one verified as it is applies with its note.
func TestAplicarVerificadasConReemplazo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	webhook := nueva(t, map[string]any{"enlace_del_cdr": "https://evil.example/forged.cdr"})
	confirmado := nueva(t, map[string]any{"numero": 106})
	aplicar(t, s, contracts.Topologia{}, webhook, confirmado)
	pendiente(t, pool, 2, "BBB1", 105)
	pendiente(t, pool, 2, "BBB1", 106)
	leidas := leerListas(t, s)
	mismos(t, "read", []string{leidas[0].MessageID, leidas[1].MessageID}, []string{webhook.MessageID, confirmado.MessageID})
	genuina := entrada(t, []byte(semilla))
	genuina.Origen = contracts.OrigenVerificacion
	leidas[0].Reemplazo = &estado.Reemplazo{Efecto: estado.Corregido, Motivo: "NubeFacT da otros enlaces", Respuesta: &genuina}
	leidas[1].Nota = "confirmado por NubeFacT"

	tomadas, aplicadas, veredictos, err := s.AplicarVerificadas(ctx, contracts.Topologia{}, leidas, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tomadas) != 2 || !slices.Contains(tomadas, webhook.MessageID) || !slices.Contains(tomadas, confirmado.MessageID) || len(aplicadas) != 2 {
		t.Fatalf("took %v, applied %d; want both", tomadas, len(aplicadas))
	}
	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado",
		"aplicado pendiente→aceptado 2-BBB1-106.aceptado"})
	if !strings.Contains(veredictos[1].Motivo, "confirmado por NubeFacT") {
		t.Errorf("motivo %q lacks the verification's note", veredictos[1].Motivo)
	}
	if c := comprobante(t, pool, 105); deref(c.EnlaceDelCDR) != "https://www.nubefact.com/cpe/xxx.cdr" {
		t.Errorf("CDR = %q, want NubeFacT's, not the webhook's", deref(c.EnlaceDelCDR))
	}
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aparcado", "aplicado", "corregido", "aplicado"})
	tieneFilas(t, pool, "aparcadas", 0)
}

// A notification another reconciler took between the read and the apply (it applied it, or
// holds its row locked) is skipped: applied once, never twice.
func TestAplicarVerificadasSaltaLasTomadas(t *testing.T) {
	t.Parallel()
	t.Run("applied meanwhile", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		s, pool := nuevoStore(t)
		aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
		pendiente(t, pool, 2, "BBB1", 105)
		leidas := leerListas(t, s)
		mismos(t, "the other reconciler", resumenes(t, aplicarListas(t, s)), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
		tomadas, aplicadas, veredictos, err := s.AplicarVerificadas(ctx, contracts.Topologia{}, leidas, nil)
		if err != nil || len(tomadas) != 0 || len(aplicadas) != 0 || len(veredictos) != 0 {
			t.Fatalf("AplicarVerificadas = %v, %d, %v, %v; want nothing", tomadas, len(aplicadas), resumenes(t, veredictos), err)
		}
		mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "aplicado"})
		mismos(t, "outbox", eventosEnOutbox(t, pool), []string{"2-BBB1-105.aceptado"})
	})
	t.Run("locked by another", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		s, pool := nuevoStore(t)
		aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)), nueva(t, map[string]any{"numero": 106}))
		pendiente(t, pool, 2, "BBB1", 105)
		pendiente(t, pool, 2, "BBB1", 106)
		leidas := leerListas(t, s)
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT 1 FROM aparcadas WHERE message_id = $1 FOR UPDATE`, leidas[0].MessageID); err != nil {
			t.Fatal(err)
		}
		tomadas, _, veredictos, err := s.AplicarVerificadas(ctx, contracts.Topologia{}, leidas, nil)
		if err != nil {
			t.Fatal(err)
		}
		mismos(t, "taken", tomadas, []string{leidas[1].MessageID})
		mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-106.aceptado"})
		mismos(t, "still parked", columna(t, pool, `SELECT message_id FROM aparcadas`), []string{leidas[0].MessageID})
	})
}

// Expiry never discards a notification whose comprobante exists (it is about to be applied).
func TestDescartarAntiguasRespetaLasListas(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, pool := nuevoStore(t)
	aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
	pendiente(t, pool, 2, "BBB1", 105)
	if _, err := pool.Exec(ctx, `UPDATE aparcadas SET aparcada_en = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if done, err := s.DescartarAntiguas(ctx, time.Hour, "vieja"); err != nil || len(done) != 0 {
		t.Fatalf("DescartarAntiguas = %+v, %v; want none (the comprobante exists)", done, err)
	}
}

func aparcadas(tb testing.TB, s *postgres.Store, todas bool) []estado.Aparcada {
	tb.Helper()
	a, err := s.Aparcadas(context.Background(), estado.PaginaAparcadas{Todas: todas, Limit: 1000, Payload: true})
	if err != nil {
		tb.Fatalf("Aparcadas(%v): %v", todas, err)
	}
	return a
}

func unaAparcada(tb testing.TB, s *postgres.Store, todas bool) estado.Aparcada {
	tb.Helper()
	a := aparcadas(tb, s, todas)
	if len(a) != 1 {
		tb.Fatalf("Aparcadas(%v) = %+v, want one", todas, a)
	}
	return a[0]
}

// TestPorVerificarEsperaASuComprobante: a webhook left unconfirmed because its
// comprobante was not in the table when the batch was checked (VERIFY_WEBHOOKS), whose
// comprobante is inserted before the batch locks its rows, is parked ready to be confirmed from
// there, never applied on its own word, and stays out of the inbox, so that its confirmed copy
// is judged later.
func TestPorVerificarEsperaASuComprobante(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105) // inserted between the check and the lock
	antes := foto(t, pool, "comprobantes", "inbox", "outbox")
	e := entrada(t, []byte(semilla))
	e.Intentos, e.PorVerificar = 1, true

	veredictos := aplicar(t, s, contracts.Topologia{}, e)

	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aparcado →"})
	mismaFoto(t, antes, foto(t, pool, "comprobantes", "inbox", "outbox"))
	if a := unaAparcada(t, s, false); !a.Lista || a.MessageID != e.MessageID {
		t.Errorf("parked %+v, want %s ready", a, e.MessageID)
	}
}
