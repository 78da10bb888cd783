package contracts_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// respuestaConsulta is what Operation 2 (consultar_comprobante) answers for the seed boleta:
// more fields, other links and wording, another order, but the same key, outcome, hash and
// documents present.
const respuestaConsulta = `{
	"codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY=",
	"numero": 105, "serie": "BBB1", "tipo_de_comprobante": 2,
	"anulado": false, "aceptada_por_sunat": true, "sunat_responsecode": "0",
	"sunat_description": "La Boleta numero BBB1-105, ha sido aceptada", "sunat_note": null,
	"sunat_soap_error": "", "enlace": "https://www.nubefact.com/cpe/otro",
	"enlace_del_pdf": "https://www.nubefact.com/cpe/otro.pdf", "enlace_del_xml": "https://www.nubefact.com/cpe/otro.xml",
	"enlace_del_cdr": "https://www.nubefact.com/cpe/otro.cdr",
	"cadena_para_codigo_qr": "20600695771 | 03 | BBB1 | 105 | ...", "codigo_de_barras": "...",
	"pdf_zip_base64": "UEsDBA==", "xml_zip_base64": null, "cdr_zip_base64": "UEsDBA=="
}`

func decode(tb testing.TB, body []byte) contracts.Notificacion {
	tb.Helper()
	n, err := contracts.Decode(body)
	if err != nil {
		tb.Fatalf("Decode(%s): %v", body, err)
	}
	return n
}

func TestFormatoDelIDDeMensaje(t *testing.T) {
	n := decode(t, seedPayload(t))
	id := contracts.MessageID(n)
	if !regexp.MustCompile(`^2-BBB1-105\.aceptado\.[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("MessageID = %q, want 2-BBB1-105.aceptado.<16 hex>", id)
	}
	if again := contracts.MessageID(decode(t, seedPayload(t))); again != id {
		t.Errorf("MessageID not deterministic: %q then %q", id, again)
	}
	// For a final outcome the event's ID is the message ID without its digest.
	if want := contracts.EventID(n.Clave(), n.Resultado()) + "."; !strings.HasPrefix(id, want) {
		t.Errorf("MessageID %q does not start with EventID %q", id, want)
	}
}

func TestIDDeMensaje(t *testing.T) {
	seed := seedPayload(t)
	tests := []struct {
		name string
		a, b []byte
		same bool
	}{
		// Same key, outcome and hash: the second delivery is a duplicate, whatever its shape.
		{"identical", seed, seed, true},
		{"extra fields", seed, conCampos(t, campos{"nuevo_campo": `{"x":1}`, "sunat_soap_error": `""`}), true},
		{"same values, other order and spacing", seed, []byte(`{"codigo_hash":"xMLFMnbgp1/bHEy572RKRTE9hPY=","numero":105,"serie":"BBB1",
			"tipo_de_comprobante":2,"aceptada_por_sunat":true,"sunat_responsecode":"0","enlace":"https://www.nubefact.com/cpe/...",
			"sunat_description":"La Boleta de Venta numero BBB1-105, ha sido aceptada","enlace_del_pdf":"https://www.nubefact.com/cpe/xxx.pdf",
			"enlace_del_xml":"https://www.nubefact.com/cpe/xxx.xml","enlace_del_cdr":"https://www.nubefact.com/cpe/xxx.cdr"}`), true},
		{"null and empty are the same", conCampos(t, campos{"sunat_note": `null`}), conCampos(t, campos{"sunat_note": `""`}), true},
		// Other links or wording: judged (a repeat), never a duplicate, so that a forged CDR link
		// cannot take the genuine one's ID and have it dropped.
		{"different enlace", seed, conCampos(t, campos{"enlace": `"https://otro"`}), false},
		{"different CDR link", seed, conCampos(t, campos{"enlace_del_cdr": `"https://evil.example/forged.cdr"`}), false},
		{"different sunat_description", seed, conCampos(t, campos{"sunat_description": `"Aceptada."`}), false},
		{"empty sunat_note is no note", seed, conCampos(t, campos{"sunat_note": `""`}), true},
		{"webhook and Operation 2 with other links", seed, []byte(respuestaConsulta), false},
		{"anulado false is not anulado", seed, conCampos(t, campos{"anulado": `false`}), true},
		// Final outcomes do not fold in the code: 0 and 4000 are both aceptado.
		{"aceptado with observations", seed, conCampos(t, campos{"sunat_responsecode": `"4000"`}), true},

		// A repeat that brings a document the first lacked must reach the state machine, which
		// fills it in: it is not a duplicate.
		{"the CDR arrives later", conCampos(t, campos{"enlace_del_cdr": `""`}), seed, false},
		{"the CDR arrives later (null before)", conCampos(t, campos{"enlace_del_cdr": `null`}), seed, false},
		{"a note arrives later", seed, conCampos(t, campos{"sunat_note": `"nota"`}), false},

		{"different outcome", seed, conCampos(t, campos{"anulado": `true`}), false},
		{"rejected", conCampos(t, campos{"aceptada_por_sunat": `false`, "sunat_responsecode": `"2000"`}), seed, false},
		{"different hash", seed, conCampos(t, campos{"codigo_hash": `"otro"`}), false},
		{"hash absent", seed, conCampos(t, campos{"codigo_hash": quitar}), false},
		{"different numero", seed, conCampos(t, campos{"numero": `106`}), false},
		{"different serie", seed, conCampos(t, campos{"serie": `"BBB2"`}), false},
		{"different tipo", seed, conCampos(t, campos{"tipo_de_comprobante": `3`}), false},

		// Without a final outcome every new code is a new notification.
		{"sin resultado, same code",
			conCampos(t, campos{"sunat_responsecode": `"0100"`}),
			conCampos(t, campos{"sunat_responsecode": `"0100"`, "sunat_soap_error": `"x"`}), true},
		{"sin resultado, different code",
			conCampos(t, campos{"sunat_responsecode": `"0100"`}),
			conCampos(t, campos{"sunat_responsecode": `"0109"`}), false},
		{"sin resultado, code absent",
			conCampos(t, campos{"aceptada_por_sunat": `false`, "sunat_responsecode": `"0"`}),
			conCampos(t, campos{"aceptada_por_sunat": `false`, "sunat_responsecode": quitar}), false},
		// The length prefixes keep fields from running together: hash "H\u0001\b" and no link is
		// not hash "H" with a CDR link.
		{"fields do not run together",
			conCampos(t, campos{"codigo_hash": `"H\u0001\b"`, "enlace": quitar, "enlace_del_pdf": quitar, "enlace_del_xml": quitar,
				"enlace_del_cdr": quitar, "sunat_description": quitar}),
			conCampos(t, campos{"codigo_hash": `"H"`, "enlace": quitar, "enlace_del_pdf": quitar, "enlace_del_xml": quitar,
				"enlace_del_cdr": `"https://x/y"`, "sunat_description": quitar}), false},
		// The separator keeps hash "x1" + code "23" apart from hash "x12" + code "3".
		{"sin resultado, hash and code do not run together",
			conCampos(t, campos{"codigo_hash": `"x1"`, "sunat_responsecode": `"0123"`}),
			conCampos(t, campos{"codigo_hash": `"x10"`, "sunat_responsecode": `"123"`}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := contracts.MessageID(decode(t, tt.a)), contracts.MessageID(decode(t, tt.b))
			if (a == b) != tt.same {
				t.Errorf("MessageIDs %q and %q: same = %v, want %v", a, b, a == b, tt.same)
			}
		})
	}
}

func TestIDDeEvento(t *testing.T) {
	tests := []struct {
		clave  contracts.Clave
		estado contracts.Resultado
		want   string
	}{
		{contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BBB1", Numero: 105}, contracts.Aceptado, "2-BBB1-105.aceptado"},
		{contracts.Clave{TipoDeComprobante: contracts.Factura, Serie: "F001", Numero: 1}, contracts.Rechazado, "1-F001-1.rechazado"},
		{contracts.Clave{TipoDeComprobante: contracts.NotaDeCredito, Serie: "0001", Numero: 99999999}, contracts.Anulado, "3-0001-99999999.anulado"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := contracts.EventID(tt.clave, tt.estado); got != tt.want {
				t.Errorf("EventID = %q, want %q", got, tt.want)
			}
		})
	}
}

func ExampleMessageID() {
	webhook, _ := contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": true, "sunat_responsecode": "0", "codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY="}`))
	consulta, _ := contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": true, "sunat_responsecode": "0", "codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY=",
		"anulado": false, "enlace_del_cdr": ""}`))
	conCDR, _ := contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": true, "sunat_responsecode": "0", "codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY=",
		"enlace_del_cdr": "https://www.nubefact.com/cpe/xxx.cdr"}`))
	excepcion, _ := contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": false, "sunat_responsecode": "0100"}`))

	fmt.Println(contracts.MessageID(webhook))
	fmt.Println(contracts.MessageID(consulta)) // the same outcome, hash and (no) documents: a duplicate
	fmt.Println(contracts.MessageID(conCDR))   // brings the CDR: judged, and fills it in
	fmt.Println(contracts.MessageID(excepcion))
	// Output:
	// 2-BBB1-105.aceptado.e2b5513af025e9ca
	// 2-BBB1-105.aceptado.e2b5513af025e9ca
	// 2-BBB1-105.aceptado.fc2c4b89c1d0aa39
	// 2-BBB1-105.sin_resultado.0ed2811353a54f6e
}

func BenchmarkMessageID(b *testing.B) {
	n := boleta()
	b.ReportAllocs()
	for b.Loop() {
		_ = contracts.MessageID(n)
	}
}
