package estado_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

func TestDecidir(t *testing.T) {
	const h, otro = "xMLFMnbgp1/bHEy572RKRTE9hPY=", "OTRO+hash="
	const cdr, pdf = contracts.CampoEnlaceDelCDR, contracts.CampoEnlaceDelPDF
	todos := contracts.CampoEnlace | pdf | contracts.CampoEnlaceDelXML | cdr | contracts.CampoSunatDescription | contracts.CampoSunatNote
	act := func(e estado.Estado, hash string) estado.Actual { return estado.Actual{Estado: e, CodigoHash: hash} }
	ent := func(r contracts.Resultado, hash string) estado.Entrante {
		return estado.Entrante{Resultado: r, CodigoHash: hash}
	}
	tests := []struct {
		name      string
		actual    estado.Actual
		n         estado.Entrante
		efecto    estado.Efecto
		nuevo     estado.Estado
		completar contracts.Campos
	}{
		{"pendiente acepta", act(estado.Pendiente, ""), ent(contracts.Aceptado, h), estado.Aplicado, estado.Aceptado, 0},
		{"pendiente acepta sin hash", act(estado.Pendiente, ""), ent(contracts.Aceptado, ""), estado.Aplicado, estado.Aceptado, 0},
		{"pendiente rechaza", act(estado.Pendiente, ""), ent(contracts.Rechazado, h), estado.Aplicado, estado.Rechazado, 0},
		{"pendiente anula", act(estado.Pendiente, ""), ent(contracts.Anulado, h), estado.Aplicado, estado.Anulado, 0},
		{"pendiente sin resultado", act(estado.Pendiente, ""), ent(contracts.SinResultado, h), estado.SinResultado, estado.Pendiente, 0},
		// The billing system may store the hash at emission: from then on it must match.
		{"pendiente con hash acepta el mismo", act(estado.Pendiente, h), ent(contracts.Aceptado, h), estado.Aplicado, estado.Aceptado, 0},
		{"pendiente con hash, otro hash", act(estado.Pendiente, h), ent(contracts.Aceptado, otro), estado.Conflicto, estado.Pendiente, 0},
		{"pendiente con hash, sin hash", act(estado.Pendiente, h), ent(contracts.Anulado, ""), estado.Conflicto, estado.Pendiente, 0},
		{"aceptado sin resultado", act(estado.Aceptado, h), ent(contracts.SinResultado, h), estado.SinResultado, estado.Aceptado, 0},
		{"aceptado repetido", act(estado.Aceptado, h), ent(contracts.Aceptado, h), estado.Repetido, estado.Aceptado, 0},
		{"aceptado repetido sin hash", act(estado.Aceptado, h), ent(contracts.Aceptado, ""), estado.Conflicto, estado.Aceptado, 0},
		{"aceptado con otro hash", act(estado.Aceptado, h), ent(contracts.Aceptado, otro), estado.Conflicto, estado.Aceptado, 0},
		{"aceptado luego anulado", act(estado.Aceptado, h), ent(contracts.Anulado, h), estado.Aplicado, estado.Anulado, 0},
		// The forged anulación of the issue: no hash must not void an accepted boleta.
		{"aceptado anulado sin hash", act(estado.Aceptado, h), ent(contracts.Anulado, ""), estado.Conflicto, estado.Aceptado, 0},
		{"aceptado anulado con otro hash", act(estado.Aceptado, h), ent(contracts.Anulado, otro), estado.Conflicto, estado.Aceptado, 0},
		{"aceptado sin hash guardado, anulado", act(estado.Aceptado, ""), ent(contracts.Anulado, h), estado.Conflicto, estado.Aceptado, 0},
		{"aceptado sin hash guardado, repetido", act(estado.Aceptado, ""), estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: h, Campos: cdr}, estado.Repetido, estado.Aceptado, 0},
		{"aceptado luego rechazado", act(estado.Aceptado, h), ent(contracts.Rechazado, h), estado.Conflicto, estado.Aceptado, 0},
		{"rechazado luego aceptado", act(estado.Rechazado, h), ent(contracts.Aceptado, h), estado.Conflicto, estado.Rechazado, 0},
		{"rechazado luego anulado", act(estado.Rechazado, h), ent(contracts.Anulado, h), estado.Conflicto, estado.Rechazado, 0},
		{"rechazado repetido", act(estado.Rechazado, h), ent(contracts.Rechazado, h), estado.Repetido, estado.Rechazado, 0},
		{"anulado repetido", act(estado.Anulado, h), ent(contracts.Anulado, h), estado.Repetido, estado.Anulado, 0},
		{"anulado luego aceptado (tardío)", act(estado.Anulado, h), ent(contracts.Aceptado, h), estado.Superado, estado.Anulado, 0},
		{"anulado luego aceptado con otro hash", act(estado.Anulado, h), ent(contracts.Aceptado, otro), estado.Conflicto, estado.Anulado, 0},
		{"anulado luego rechazado", act(estado.Anulado, h), ent(contracts.Rechazado, h), estado.Conflicto, estado.Anulado, 0},

		// A late CDR fills in what is empty, and only that.
		{"aceptado sin CDR recibe el CDR",
			estado.Actual{Estado: estado.Aceptado, CodigoHash: h, Vacios: cdr},
			estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: h, Campos: todos},
			estado.Completado, estado.Aceptado, cdr},
		{"aceptado completo: nada que completar",
			estado.Actual{Estado: estado.Aceptado, CodigoHash: h},
			estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: h, Campos: todos},
			estado.Repetido, estado.Aceptado, 0},
		{"aceptado sin CDR, la repetición tampoco lo trae",
			estado.Actual{Estado: estado.Aceptado, CodigoHash: h, Vacios: cdr},
			estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: h, Campos: pdf},
			estado.Repetido, estado.Aceptado, 0},
		{"el CDR con otro hash no se completa",
			estado.Actual{Estado: estado.Aceptado, CodigoHash: h, Vacios: cdr},
			estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: otro, Campos: cdr},
			estado.Conflicto, estado.Aceptado, 0},
		{"anulado completa su CDR",
			estado.Actual{Estado: estado.Anulado, CodigoHash: h, Vacios: cdr | pdf},
			estado.Entrante{Resultado: contracts.Anulado, CodigoHash: h, Campos: cdr},
			estado.Completado, estado.Anulado, cdr},
		{"un aceptado tardío no completa un anulado",
			estado.Actual{Estado: estado.Anulado, CodigoHash: h, Vacios: cdr},
			estado.Entrante{Resultado: contracts.Aceptado, CodigoHash: h, Campos: cdr},
			estado.Superado, estado.Anulado, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := estado.Decidir(tt.actual, tt.n)
			if d.Efecto != tt.efecto || d.Nuevo != tt.nuevo || d.Completar != tt.completar {
				t.Errorf("Decidir(%+v, %+v) = %s → %s completar %v (%s), want %s → %s completar %v",
					tt.actual, tt.n, d.Efecto, d.Nuevo, d.Completar.Nombres(), d.Motivo, tt.efecto, tt.nuevo, tt.completar.Nombres())
			}
			if d.Motivo == "" {
				t.Error("empty Motivo: the audit needs a reason")
			}
			if d.Efecto != estado.Aplicado && d.Nuevo != tt.actual.Estado {
				t.Errorf("%s changed the state to %s", d.Efecto, d.Nuevo)
			}
		})
	}
}

// FuzzDecidir checks the invariants of the state machine on any input: a comprobante with a
// stored hash is never changed by a notification with another (or no) hash, and nothing but
// pendiente → final and aceptado → anulado changes the state.
func FuzzDecidir(f *testing.F) {
	estados := []estado.Estado{estado.Pendiente, estado.Aceptado, estado.Rechazado, estado.Anulado}
	resultados := []contracts.Resultado{contracts.SinResultado, contracts.Aceptado, contracts.Rechazado, contracts.Anulado}
	f.Add(uint8(1), "h", uint8(0), uint8(2), "", uint8(8))
	f.Fuzz(func(t *testing.T, e uint8, hash string, vacios uint8, r uint8, nhash string, campos uint8) {
		actual := estado.Actual{Estado: estados[int(e)%4], CodigoHash: hash, Vacios: contracts.Campos(vacios & 63)}
		n := estado.Entrante{Resultado: resultados[int(r)%4], CodigoHash: nhash, Campos: contracts.Campos(campos & 63)}
		d := estado.Decidir(actual, n)
		if hash != "" && nhash != hash && (d.Efecto == estado.Aplicado || d.Efecto == estado.Completado) {
			t.Fatalf("%+v changed by %+v with another hash: %+v", actual, n, d)
		}
		if d.Efecto == estado.Aplicado {
			ok := actual.Estado == estado.Pendiente || actual.Estado == estado.Aceptado && d.Nuevo == estado.Anulado && hash != ""
			if !ok {
				t.Fatalf("transition %s → %s not allowed", actual.Estado, d.Nuevo)
			}
		}
		if d.Completar&^(actual.Vacios&n.Campos) != 0 {
			t.Fatalf("completes %v, which is not both empty and brought", d.Completar.Nombres())
		}
	})
}

// TestPasos: a webhook NubeFacT's answer replaces becomes two steps, the answer first (which
// reports for the webhook) and the webhook to record; one replaced by nothing reports itself.
func TestPasos(t *testing.T) {
	respuesta := estado.Recibida{MessageID: "respuesta"}
	recibidas := []estado.Recibida{
		{MessageID: "normal"},
		{MessageID: "corregido", Reemplazo: &estado.Reemplazo{Efecto: estado.Corregido, Respuesta: &respuesta}},
		{MessageID: "no confirmado", Reemplazo: &estado.Reemplazo{Efecto: estado.Conflicto}},
	}
	var got []string
	for _, p := range estado.Pasos(recibidas) {
		got = append(got, fmt.Sprintf("%s #%d informa=%v registro=%v", p.Recibida.MessageID, p.Indice, p.Informa, p.Registro))
	}
	want := []string{
		"normal #0 informa=true registro=false",
		"respuesta #1 informa=true registro=false",
		"corregido #1 informa=false registro=true",
		"no confirmado #2 informa=true registro=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Pasos =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRegistros(t *testing.T) {
	respuesta := estado.Recibida{MessageID: "respuesta", Origen: contracts.OrigenVerificacion}
	recibidas := []estado.Recibida{
		{MessageID: "normal", Origen: contracts.OrigenReenvio},
		{MessageID: "corregido", Origen: contracts.OrigenWebhook, Reemplazo: &estado.Reemplazo{Efecto: estado.Corregido, Respuesta: &respuesta}},
		{MessageID: "no confirmado", Origen: contracts.OrigenWebhook, Reemplazo: &estado.Reemplazo{Efecto: estado.Conflicto}},
	}
	veredictos := []estado.Veredicto{{Efecto: estado.Repetido}, {Efecto: estado.Aplicado}, {Efecto: estado.Conflicto}}
	got := estado.Registros(recibidas, veredictos)
	want := []estado.Registro{
		{estado.Repetido, contracts.OrigenReenvio},
		{estado.Aplicado, contracts.OrigenVerificacion},
		{estado.Corregido, contracts.OrigenWebhook},
		{estado.Conflicto, contracts.OrigenWebhook},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Registros = %v, want %v", got, want)
	}
}
