package postgres_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

func TestAplicarAceptadaSobrePendiente(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		nombre  string
		topo    contracts.Topologia
		subject string
	}{
		{"sin prefijo", contracts.Topologia{}, "boleta.aceptada"},
		{"con prefijo", contracts.Topologia{Prefijo: "t42"}, "t42.boleta.aceptada"},
	} {
		t.Run(tc.nombre, func(t *testing.T) {
			t.Parallel()
			s, pool := nuevoStore(t)
			pendiente(t, pool, 2, "BBB1", 105)
			e := entrada(t, []byte(semilla))

			veredictos := aplicar(t, s, tc.topo, e)
			mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})

			c := comprobante(t, pool, 105)
			for _, campo := range []struct {
				nombre    string
				got, want string
			}{
				{"estado", c.Estado, "aceptado"},
				{"fecha_de_emision", deref(c.FechaDeEmision), deref(&emision)},
				{"enlace", deref(c.Enlace), "https://www.nubefact.com/cpe/..."},
				{"enlace_del_pdf", deref(c.EnlaceDelPDF), "https://www.nubefact.com/cpe/xxx.pdf"},
				{"enlace_del_xml", deref(c.EnlaceDelXML), "https://www.nubefact.com/cpe/xxx.xml"},
				{"enlace_del_cdr", deref(c.EnlaceDelCDR), "https://www.nubefact.com/cpe/xxx.cdr"},
				{"codigo_hash", deref(c.CodigoHash), hashSemilla},
				{"sunat_responsecode", deref(c.SunatResponsecode), "0"},
				{"sunat_description", deref(c.SunatDescription), "La Boleta de Venta numero BBB1-105, ha sido aceptada"},
				{"sunat_note", deref(c.SunatNote), "<null>"},
			} {
				if campo.got != campo.want {
					t.Errorf("comprobante %s = %q, want %q", campo.nombre, campo.got, campo.want)
				}
			}
			if c.EstadoFinalEn == nil {
				t.Fatal("estado_final_en is null")
			}
			mismos(t, "inbox", inbox(t, pool), []string{e.MessageID})

			audit := auditoria(t, pool)
			if len(audit) != 1 {
				t.Fatalf("audit has %d rows, want 1", len(audit))
			}
			a := audit[0]
			for _, campo := range []struct {
				nombre    string
				got, want string
			}{
				{"message_id", a.MessageID, e.MessageID},
				{"origen", a.Origen, contracts.OrigenWebhook},
				{"remitente", deref(a.Remitente), remitente},
				{"stream_seq", deref(a.StreamSeq), "7"},
				{"clave", contracts.Clave{TipoDeComprobante: a.TipoDeComprobante, Serie: a.Serie, Numero: a.Numero}.String(), "2-BBB1-105"},
				{"resultado", a.Resultado, "aceptado"},
				{"efecto", a.Efecto, "aplicado"},
				{"estado_anterior", deref(a.EstadoAnterior), "pendiente"},
				{"estado_nuevo", deref(a.EstadoNuevo), "aceptado"},
				{"motivo", a.Motivo, veredictos[0].Motivo},
			} {
				if campo.got != campo.want {
					t.Errorf("audit %s = %q, want %q", campo.nombre, campo.got, campo.want)
				}
			}
			if !a.RecibidoEn.Equal(recibido) {
				t.Errorf("audit recibido_en = %v, want %v", a.RecibidoEn, recibido)
			}
			if a.Payload != semilla {
				t.Errorf("audit payload is not the body byte for byte:\ngot  %s\nwant %s", a.Payload, semilla)
			}

			ob := outbox(t, pool)
			if len(ob) != 1 {
				t.Fatalf("outbox has %d rows, want 1", len(ob))
			}
			if ob[0].EventID != "2-BBB1-105.aceptado" || ob[0].Subject != tc.subject {
				t.Errorf("outbox row = %s %s, want 2-BBB1-105.aceptado %s", ob[0].EventID, ob[0].Subject, tc.subject)
			}
			var ev contracts.Evento
			if err := json.Unmarshal(ob[0].Evento, &ev); err != nil {
				t.Fatalf("outbox evento: %v", err)
			}
			final := c.EstadoFinalEn.UTC()
			mismoJSON(t, "outbox evento", ev, contracts.Evento{
				SpecVersion:     contracts.SpecVersion,
				ID:              "2-BBB1-105.aceptado",
				Source:          contracts.FuenteReconciler,
				Type:            "boleta.aceptada",
				Subject:         "2-BBB1-105",
				Time:            final,
				DataContentType: "application/json",
				DataSchema:      contracts.EsquemaEventoV1,
				Data: contracts.ComprobanteEvento{
					Version:           contracts.VersionEvento,
					TipoDeComprobante: 2,
					Serie:             "BBB1",
					Numero:            105,
					Estado:            contracts.Aceptado,
					EstadoAnterior:    "pendiente",
					FechaDeEmision:    ptr("2025-03-13"),
					Enlace:            ptr("https://www.nubefact.com/cpe/..."),
					EnlaceDelPDF:      ptr("https://www.nubefact.com/cpe/xxx.pdf"),
					EnlaceDelXML:      ptr("https://www.nubefact.com/cpe/xxx.xml"),
					EnlaceDelCDR:      ptr("https://www.nubefact.com/cpe/xxx.cdr"),
					CodigoHash:        ptr(hashSemilla),
					SunatResponsecode: ptr("0"),
					SunatDescription:  ptr("La Boleta de Venta numero BBB1-105, ha sido aceptada"),
					EstadoFinalEn:     final,
					Origen:            contracts.OrigenWebhook,
					NotificacionID:    e.MessageID,
				},
			})
		})
	}
}

func TestAplicarDuplicado(t *testing.T) {
	t.Parallel()
	// What the inbox must leave untouched: everything but the audit.
	sinAuditoria := []string{"comprobantes", "inbox", "outbox", "aparcadas"}

	t.Run("en otra llamada", func(t *testing.T) {
		t.Parallel()
		s, pool := nuevoStore(t)
		pendiente(t, pool, 2, "BBB1", 105)
		aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
		antes := foto(t, pool, sinAuditoria...)

		// The regularization of the same outcome gets the same message ID by rule.
		otra := entrada(t, []byte(semilla))
		otra.Origen, otra.StreamSeq, otra.Remitente = contracts.OrigenRegularizacion, 8, ""
		veredictos := aplicar(t, s, contracts.Topologia{}, otra)

		mismos(t, "veredictos", resumenes(t, veredictos), []string{"duplicado aceptado→aceptado"})
		mismaFoto(t, antes, foto(t, pool, sinAuditoria...))
		audit := auditoria(t, pool)
		if len(audit) != 2 {
			t.Fatalf("audit has %d rows, want 2", len(audit))
		}
		a := audit[1]
		if a.Efecto != "duplicado" || a.MessageID != otra.MessageID || a.Origen != contracts.OrigenRegularizacion ||
			deref(a.StreamSeq) != "8" || a.Remitente != nil || a.Payload != semilla {
			t.Errorf("audit of the duplicate = %+v", a)
		}
		mismos(t, "outbox", eventosEnOutbox(t, pool), []string{"2-BBB1-105.aceptado"})
	})

	t.Run("en el mismo lote", func(t *testing.T) {
		t.Parallel()
		s, pool := nuevoStore(t)
		pendiente(t, pool, 2, "BBB1", 105)
		e := entrada(t, []byte(semilla))

		veredictos := aplicar(t, s, contracts.Topologia{}, e, e)

		mismos(t, "veredictos", resumenes(t, veredictos), []string{
			"aplicado pendiente→aceptado 2-BBB1-105.aceptado",
			"duplicado aceptado→aceptado",
		})
		mismos(t, "audit", efectosAuditados(t, pool), []string{"aplicado", "duplicado"})
		mismos(t, "inbox", inbox(t, pool), []string{e.MessageID})
		mismos(t, "outbox", eventosEnOutbox(t, pool), []string{"2-BBB1-105.aceptado"})
	})
}

// TestAplicarTransiciones applies notifications for the seed's boleta one call at a time and
// checks each verdict and what the database holds afterwards.
func TestAplicarTransiciones(t *testing.T) {
	t.Parallel()
	type paso struct {
		cambios map[string]any // to the seed payload
		want    string         // resumen of the Salida
	}
	for _, tc := range []struct {
		nombre  string
		pasos   []paso
		estado  string
		eventos []string
		efectos []string
		check   func(t *testing.T, c filaComprobante, ob []filaOutbox)
	}{
		{
			nombre: "aceptado con otro codigo_hash es un conflicto",
			pasos: []paso{
				{nil, "aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
				{otroHash, "conflicto aceptado→aceptado"},
			},
			estado:  "aceptado",
			eventos: []string{"2-BBB1-105.aceptado"},
			efectos: []string{"aplicado", "conflicto"},
			check: func(t *testing.T, c filaComprobante, _ []filaOutbox) {
				if deref(c.CodigoHash) != hashSemilla {
					t.Errorf("codigo_hash = %s, want the accepted one %s", deref(c.CodigoHash), hashSemilla)
				}
			},
		},
		{
			nombre: "rechazado y luego aceptado es un conflicto",
			pasos: []paso{
				{rechazo, "aplicado pendiente→rechazado 2-BBB1-105.rechazado"},
				{nil, "conflicto rechazado→rechazado"},
			},
			estado:  "rechazado",
			eventos: []string{"2-BBB1-105.rechazado"},
			efectos: []string{"aplicado", "conflicto"},
			check: func(t *testing.T, c filaComprobante, ob []filaOutbox) {
				if deref(c.SunatResponsecode) != "2033" || ob[0].Subject != "boleta.rechazada" {
					t.Errorf("sunat_responsecode %s, subject %s; want 2033, boleta.rechazada", deref(c.SunatResponsecode), ob[0].Subject)
				}
			},
		},
		{
			nombre: "aceptado y luego anulado conserva el CDR",
			pasos: []paso{
				{nil, "aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
				{anulacion, "aplicado aceptado→anulado 2-BBB1-105.anulado"},
			},
			estado:  "anulado",
			eventos: []string{"2-BBB1-105.aceptado", "2-BBB1-105.anulado"},
			efectos: []string{"aplicado", "aplicado"},
			check: func(t *testing.T, c filaComprobante, ob []filaOutbox) {
				const cdr = "https://www.nubefact.com/cpe/xxx.cdr"
				if deref(c.EnlaceDelCDR) != cdr {
					t.Errorf("enlace_del_cdr = %s: the anulación's null erased the acceptance's CDR", deref(c.EnlaceDelCDR))
				}
				if want := anulacion["sunat_description"]; deref(c.SunatDescription) != want {
					t.Errorf("sunat_description = %s, want %s", deref(c.SunatDescription), want)
				}
				var ev contracts.Evento
				if err := json.Unmarshal(ob[1].Evento, &ev); err != nil {
					t.Fatal(err)
				}
				if ob[1].Subject != "boleta.anulada" || ev.Type != "boleta.anulada" || ev.Data.EstadoAnterior != "aceptado" ||
					deref(ev.Data.EnlaceDelCDR) != cdr {
					t.Errorf("anulación event on %s = %+v", ob[1].Subject, ev)
				}
			},
		},
		{
			nombre: "una anulación con enlaces vacíos conserva los del aceptado",
			pasos: []paso{
				{nil, "aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
				{merge(anulacion, map[string]any{"enlace_del_cdr": "", "enlace_del_pdf": "", "sunat_note": ""}), "aplicado aceptado→anulado 2-BBB1-105.anulado"},
			},
			estado:  "anulado",
			eventos: []string{"2-BBB1-105.aceptado", "2-BBB1-105.anulado"},
			efectos: []string{"aplicado", "aplicado"},
			check: func(t *testing.T, c filaComprobante, _ []filaOutbox) {
				if deref(c.EnlaceDelCDR) != "https://www.nubefact.com/cpe/xxx.cdr" || deref(c.EnlaceDelPDF) != "https://www.nubefact.com/cpe/xxx.pdf" {
					t.Errorf("enlace_del_cdr %q, enlace_del_pdf %q: an empty link erased the stored one", deref(c.EnlaceDelCDR), deref(c.EnlaceDelPDF))
				}
			},
		},
		{
			nombre: "una anulación con otro codigo_hash no anula",
			pasos: []paso{
				{nil, "aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
				{merge(anulacion, otroHash), "conflicto aceptado→aceptado"},
			},
			estado:  "aceptado",
			eventos: []string{"2-BBB1-105.aceptado"},
			efectos: []string{"aplicado", "conflicto"},
		},
		{
			nombre: "anulado y luego un aceptado tardío queda superado",
			pasos: []paso{
				{anulacion, "aplicado pendiente→anulado 2-BBB1-105.anulado"},
				{nil, "superado anulado→anulado"},
			},
			estado:  "anulado",
			eventos: []string{"2-BBB1-105.anulado"},
			efectos: []string{"aplicado", "superado"},
		},
		{
			nombre: "aceptado con observaciones guarda la nota",
			pasos: []paso{
				{map[string]any{"sunat_responsecode": "4252", "sunat_note": "El dato ingresado como atributo @listName es incorrecto"},
					"aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
			},
			estado:  "aceptado",
			eventos: []string{"2-BBB1-105.aceptado"},
			efectos: []string{"aplicado"},
			check: func(t *testing.T, c filaComprobante, _ []filaOutbox) {
				if deref(c.SunatNote) != "El dato ingresado como atributo @listName es incorrecto" || deref(c.SunatResponsecode) != "4252" {
					t.Errorf("sunat_note %s, sunat_responsecode %s", deref(c.SunatNote), deref(c.SunatResponsecode))
				}
			},
		},
		{
			nombre: "una excepción no cambia nada",
			pasos: []paso{
				{excepcion, "sin_resultado pendiente→pendiente"},
				// Another exception code is another message, recorded too.
				{map[string]any{"aceptada_por_sunat": false, "sunat_responsecode": "0109"}, "sin_resultado pendiente→pendiente"},
			},
			estado:  "pendiente",
			efectos: []string{"sin_resultado", "sin_resultado"},
			check: func(t *testing.T, c filaComprobante, _ []filaOutbox) {
				if c.EstadoFinalEn != nil || c.Enlace != nil || c.CodigoHash != nil {
					t.Errorf("a notification without outcome wrote to the row: %+v", c)
				}
			},
		},
	} {
		t.Run(tc.nombre, func(t *testing.T) {
			t.Parallel()
			s, pool := nuevoStore(t)
			pendiente(t, pool, 2, "BBB1", 105)
			var ids []string
			for _, p := range tc.pasos {
				antes := foto(t, pool, "comprobantes", "outbox")
				e := nueva(t, p.cambios)
				veredictos := aplicar(t, s, contracts.Topologia{}, e)
				mismos(t, "veredictos", resumenes(t, veredictos), []string{p.want})
				if veredictos[0].Efecto != "aplicado" {
					mismaFoto(t, antes, foto(t, pool, "comprobantes", "outbox"))
				}
				ids = append(ids, e.MessageID)
			}
			c := comprobante(t, pool, 105)
			if c.Estado != tc.estado {
				t.Errorf("estado = %s, want %s", c.Estado, tc.estado)
			}
			slices.Sort(ids)
			mismos(t, "inbox", inbox(t, pool), ids)
			mismos(t, "audit", efectosAuditados(t, pool), tc.efectos)
			mismos(t, "outbox", eventosEnOutbox(t, pool), tc.eventos)
			if tc.check != nil {
				tc.check(t, c, outbox(t, pool))
			}
		})
	}
}

func TestAplicarLoteMixtoConservaElOrden(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	for _, n := range []int{105, 106, 107} {
		pendiente(t, pool, 2, "BBB1", n)
	}
	pendiente(t, pool, 1, "F001", 1)
	b107 := nueva(t, map[string]any{"numero": 107})
	lote := []estado.Recibida{
		b107,
		nueva(t, rechazo),
		nueva(t, map[string]any{"numero": 999}),
		b107,
		nueva(t, map[string]any{"tipo_de_comprobante": 1, "serie": "F001", "numero": 1}),
		nueva(t, merge(excepcion, map[string]any{"numero": 106})),
		nueva(t, nil), // 105, already rechazado earlier in this batch
	}

	veredictos := aplicar(t, s, contracts.Topologia{}, lote...)

	mismos(t, "veredictos", resumenes(t, veredictos), []string{
		"aplicado pendiente→aceptado 2-BBB1-107.aceptado",
		"aplicado pendiente→rechazado 2-BBB1-105.rechazado",
		"aparcado →",
		"duplicado aceptado→aceptado",
		"aplicado pendiente→aceptado 1-F001-1.aceptado",
		"sin_resultado pendiente→pendiente",
		"conflicto rechazado→rechazado",
	})
	estados := columna(t, pool, `SELECT tipo_de_comprobante || '-' || serie || '-' || numero || ' ' || estado FROM comprobantes ORDER BY id`)
	mismos(t, "comprobantes", estados, []string{"2-BBB1-105 rechazado", "2-BBB1-106 pendiente", "2-BBB1-107 aceptado", "1-F001-1 aceptado"})
	eventos := eventosEnOutbox(t, pool)
	slices.Sort(eventos)
	mismos(t, "outbox", eventos, []string{"1-F001-1.aceptado", "2-BBB1-105.rechazado", "2-BBB1-107.aceptado"})
	subjects := columna(t, pool, `SELECT subject FROM outbox WHERE event_id = '1-F001-1.aceptado'`)
	mismos(t, "factura subject", subjects, []string{"factura.aceptada"})
	// The unknown comprobante is parked, out of the inbox.
	tieneFilas(t, pool, "notificaciones", 7)
	tieneFilas(t, pool, "inbox", 5) // distinct message IDs of known comprobantes
	tieneFilas(t, pool, "aparcadas", 1)
}

// TestAplicarConcurrente races two reconcilers on the same message, once per comprobante: the
// row lock and the inbox must let exactly one apply it.
func TestAplicarConcurrente(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	recibidas := aceptaciones(t, pool, 101, 102, 103, 104, 105)
	comprobantes := len(recibidas)

	var (
		wg        sync.WaitGroup
		veredicto = make([][2]estado.Veredicto, comprobantes)
		errores   = make([][2]error, comprobantes)
		start     = make(chan struct{})
	)
	for i := range recibidas {
		for j := range 2 {
			wg.Go(func() {
				<-start
				var out []estado.Veredicto
				out, _, errores[i][j] = s.Aplicar(t.Context(), []estado.Recibida{recibidas[i]}, contracts.Topologia{}, 0)
				if len(out) == 1 {
					veredicto[i][j] = out[0]
				}
			})
		}
	}
	close(start)
	wg.Wait()

	for i := range recibidas {
		for j := range 2 {
			if errores[i][j] != nil {
				t.Fatalf("Aplicar %d/%d: %v", i, j, errores[i][j])
			}
		}
		efectos := []string{string(veredicto[i][0].Efecto), string(veredicto[i][1].Efecto)}
		slices.Sort(efectos)
		mismos(t, "efectos for "+strconv.Itoa(101+i), efectos, []string{"aplicado", "duplicado"})
	}
	tieneFilas(t, pool, "outbox", comprobantes)
	tieneFilas(t, pool, "inbox", comprobantes)
	tieneFilas(t, pool, "notificaciones", 2*comprobantes)
}

// TestAplicarAnulacionSinHash is the forged anulación of issue 8, byte for byte: without a
// codigo_hash it must not void an accepted boleta, nor publish boleta.anulada; it is a conflict.
func TestAplicarAnulacionSinHash(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105)
	aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
	antes := foto(t, pool, "comprobantes", "outbox")

	veredictos := aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"anulado":true}`)))

	mismos(t, "veredictos", resumenes(t, veredictos), []string{"conflicto aceptado→aceptado"})
	mismaFoto(t, antes, foto(t, pool, "comprobantes", "outbox"))
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aplicado", "conflicto"})
	// The genuine anulación, with the hash, still applies.
	veredictos = aplicar(t, s, contracts.Topologia{}, nueva(t, anulacion))
	mismos(t, "veredictos", resumenes(t, veredictos), []string{"aplicado aceptado→anulado 2-BBB1-105.anulado"})
}

// TestAplicarCDRTardio: an acceptance without CDR, then a repeat that brings it. The second
// fills in the CDR (and only what was empty), is audited as completado and publishes one
// boleta.actualizada; a third with yet other links changes nothing.
func TestAplicarCDRTardio(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105)
	const cdr = "https://www.nubefact.com/cpe/xxx.cdr"
	sinCDR := nueva(t, map[string]any{"enlace_del_cdr": "", "sunat_note": nil})
	conCDR := nueva(t, map[string]any{"enlace_del_pdf": "https://otro.example/otro.pdf"})
	if sinCDR.MessageID == conCDR.MessageID {
		t.Fatalf("the repeat that brings the CDR has the same message ID %s as the first", sinCDR.MessageID)
	}
	otra := nueva(t, map[string]any{"enlace_del_cdr": "https://otro.example/otro.cdr", "enlace_del_pdf": "https://otro.example/otro.pdf", "sunat_note": "nota"})

	for _, paso := range []struct {
		e    estado.Recibida
		want string
	}{
		{sinCDR, "aplicado pendiente→aceptado 2-BBB1-105.aceptado"},
		{conCDR, "completado aceptado→aceptado 2-BBB1-105.aceptado.completado.enlace_del_cdr"},
		{conCDR, "duplicado aceptado→aceptado"},
		{otra, "completado aceptado→aceptado 2-BBB1-105.aceptado.completado.sunat_note"},
	} {
		got := aplicar(t, s, contracts.Topologia{}, paso.e)
		mismos(t, "veredictos", resumenes(t, got), []string{paso.want})
	}
	c := comprobante(t, pool, 105)
	if c.Estado != "aceptado" || deref(c.EnlaceDelCDR) != cdr || deref(c.EnlaceDelPDF) != "https://www.nubefact.com/cpe/xxx.pdf" || deref(c.SunatNote) != "nota" {
		t.Errorf("row = estado %s, cdr %q, pdf %q, note %q; want aceptado, the late CDR, the first PDF, the note",
			c.Estado, deref(c.EnlaceDelCDR), deref(c.EnlaceDelPDF), deref(c.SunatNote))
	}
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aplicado", "completado", "duplicado", "completado"})
	ob := outbox(t, pool)
	mismos(t, "outbox", eventosEnOutbox(t, pool), []string{"2-BBB1-105.aceptado",
		"2-BBB1-105.aceptado.completado.enlace_del_cdr", "2-BBB1-105.aceptado.completado.sunat_note"})
	var ev contracts.Evento
	if err := json.Unmarshal(ob[1].Evento, &ev); err != nil {
		t.Fatal(err)
	}
	if ob[1].Subject != "boleta.actualizada" || ev.Type != "boleta.actualizada" || ev.Data.Estado != contracts.Aceptado ||
		ev.Data.EstadoAnterior != "aceptado" || deref(ev.Data.EnlaceDelCDR) != cdr ||
		!slices.Equal(ev.Data.CamposCompletados, []string{"enlace_del_cdr"}) || !ev.Data.EstadoFinalEn.Equal(c.EstadoFinalEn.UTC()) {
		t.Errorf("actualizada event on %s = %+v", ob[1].Subject, ev)
	}
}

// TestAplicarCompletaCadaCampo: each of contracts' fields (TodosLosCampos) is a column of
// comprobantes that a repeat bringing it fills in. A field added to contracts and not to the
// migrations, to the lock's read or to the update fails here.
func TestAplicarCompletaCadaCampo(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	vacios := map[string]any{}
	for _, nombre := range contracts.TodosLosCampos.Nombres() {
		vacios[nombre] = ""
	}
	for i, nombre := range contracts.TodosLosCampos.Nombres() {
		numero := 300 + i
		pendiente(t, pool, 2, "BBB1", numero)
		valor := "https://www.nubefact.com/cpe/" + nombre
		sinCampos := nueva(t, merge(vacios, map[string]any{"numero": numero}))
		conUno := nueva(t, merge(vacios, map[string]any{"numero": numero, nombre: valor}))
		got := resumenes(t, aplicar(t, s, contracts.Topologia{}, sinCampos, conUno))
		mismos(t, nombre, got, []string{fmt.Sprintf("aplicado pendiente→aceptado 2-BBB1-%d.aceptado", numero),
			fmt.Sprintf("completado aceptado→aceptado 2-BBB1-%d.aceptado.completado.%s", numero, nombre)})
		var guardado *string
		if err := pool.QueryRow(t.Context(), `SELECT `+pgx.Identifier{nombre}.Sanitize()+` FROM comprobantes
			WHERE tipo_de_comprobante = 2 AND serie = 'BBB1' AND numero = $1`, numero).Scan(&guardado); err != nil {
			t.Fatalf("column %s: %v", nombre, err)
		}
		if deref(guardado) != valor {
			t.Errorf("column %s = %q after the repeat that brought %q", nombre, deref(guardado), valor)
		}
	}
}

// A webhook VERIFY_WEBHOOKS replaced is only recorded: its message ID stays out of the inbox, so
// a genuine notification with the same ID (a regularization after a webhook NubeFacT could not
// confirm in time) still applies.
func TestAplicarWebhookReemplazadoNoOcupaElInbox(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105)
	w := entrada(t, []byte(semilla))
	w.Reemplazo = &estado.Reemplazo{Efecto: estado.Conflicto, Motivo: "webhook no confirmado tras 5 intentos"}
	mismos(t, "webhook", resumenes(t, aplicar(t, s, contracts.Topologia{}, w)), []string{"conflicto →"})
	mismos(t, "inbox", inbox(t, pool), nil)

	reg := entrada(t, []byte(semilla))
	reg.Origen = contracts.OrigenRegularizacion
	mismos(t, "regularization", resumenes(t, aplicar(t, s, contracts.Topologia{}, reg)),
		[]string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
}

// A corrected webhook for a comprobante not in the table yet: NubeFacT's answer is parked, and
// applied once the comprobante is inserted.
func TestAplicarCorregidoAparcado(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	webhook := nueva(t, map[string]any{"enlace_del_cdr": "https://evil.example/forged.cdr"})
	genuina := entrada(t, []byte(semilla))
	genuina.Origen = contracts.OrigenVerificacion
	webhook.Reemplazo = &estado.Reemplazo{Efecto: estado.Corregido, Motivo: "enlace_del_cdr difiere", Respuesta: &genuina}
	mismos(t, "parking", resumenes(t, aplicar(t, s, contracts.Topologia{}, webhook)), []string{"aparcado →"})
	pendiente(t, pool, 2, "BBB1", 105)
	mismos(t, "applied", resumenes(t, aplicarListas(t, s)), []string{"aplicado pendiente→aceptado 2-BBB1-105.aceptado"})
	if c := comprobante(t, pool, 105); deref(c.EnlaceDelCDR) != "https://www.nubefact.com/cpe/xxx.cdr" {
		t.Errorf("stored CDR %q, want NubeFacT's", deref(c.EnlaceDelCDR))
	}
	mismos(t, "audit", efectosAuditados(t, pool), []string{"aparcado", "corregido", "aplicado"})
	tieneFilas(t, pool, "aparcadas", 0)
}
