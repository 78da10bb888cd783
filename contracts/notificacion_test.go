package contracts_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// seedPayload is testdata/seed-webhook.json: the payload of the user's webhook document, the
// one example of a real NubeFacT notification we have.
func seedPayload(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/seed-webhook.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// quitar, as a value in campos, removes the field from the payload.
const quitar = "<quitar>"

// campos maps JSON names to raw JSON values.
type campos map[string]string

// conCampos returns the seed payload with the given fields replaced, added or removed.
func conCampos(tb testing.TB, cambios campos) []byte {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(seedPayload(tb), &m); err != nil {
		tb.Fatal(err)
	}
	for k, v := range cambios {
		if v == quitar {
			delete(m, k)
			continue
		}
		m[k] = json.RawMessage(v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatalf("payload with %v: %v", cambios, err)
	}
	return b
}

// wantFieldError fails unless err is a payload error naming field.
func wantFieldError(tb testing.TB, err error, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want one naming %q", field)
	}
	if !errors.Is(err, contracts.ErrPayload) {
		tb.Errorf("errors.Is(%v, ErrPayload) = false", err)
	}
	var fe *contracts.FieldError
	if !errors.As(err, &fe) {
		tb.Fatalf("%v (%T) is not a *FieldError", err, err)
	}
	if fe.Field != field {
		tb.Errorf("Field = %q (%v), want %q", fe.Field, err, field)
	}
}

func TestDecodeSeed(t *testing.T) {
	n, err := contracts.Decode(seedPayload(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n.Clave(), (contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BBB1", Numero: 105}); got != want {
		t.Errorf("Clave() = %v, want %v", got, want)
	}
	if got := n.Resultado(); got != contracts.Aceptado {
		t.Errorf("Resultado() = %q, want %q", got, contracts.Aceptado)
	}
	for name, tt := range map[string]struct {
		got  *string
		want string
	}{
		"enlace_del_cdr":     {n.EnlaceDelCDR, "https://www.nubefact.com/cpe/xxx.cdr"},
		"codigo_hash":        {n.CodigoHash, "xMLFMnbgp1/bHEy572RKRTE9hPY="},
		"sunat_responsecode": {n.SunatResponsecode, "0"},
	} {
		if tt.got == nil || *tt.got != tt.want {
			t.Errorf("%s = %v, want %q", name, tt.got, tt.want)
		}
	}
	if n.Anulado != nil || n.SunatNote != nil {
		t.Errorf("absent fields decoded as non-nil: anulado=%v sunat_note=%v", n.Anulado, n.SunatNote)
	}
}

func TestDecodeAccepts(t *testing.T) {
	nullables := campos{}
	for _, f := range []string{
		"enlace", "aceptada_por_sunat", "sunat_description", "sunat_note", "sunat_responsecode",
		"sunat_soap_error", "anulado", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr",
		"codigo_hash", "cadena_para_codigo_qr", "codigo_de_barras", "pdf_zip_base64",
		"xml_zip_base64", "cdr_zip_base64",
	} {
		nullables[f] = "null"
	}
	tests := []struct {
		name string
		body []byte
		want contracts.Resultado
	}{
		{"seed", seedPayload(t), contracts.Aceptado},
		{"surrounding whitespace", []byte("\n\t " + string(seedPayload(t)) + " \r\n"), contracts.Aceptado},
		{"unknown fields are ignored", conCampos(t, campos{"nuevo_campo": `{"a":[1,2,{"b":null}]}`, "otro": `"x"`}), contracts.Aceptado},
		{"NUL inside an unknown field", conCampos(t, campos{"otro": `"a\u0000b"`}), contracts.Aceptado},
		{"every optional field null", conCampos(t, nullables), contracts.SinResultado},
		{"only the key", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}`), contracts.SinResultado},
		{"rejected", conCampos(t, campos{"aceptada_por_sunat": "false", "sunat_responsecode": `"2017"`}), contracts.Rechazado},
		{"voided", conCampos(t, campos{"anulado": "true"}), contracts.Anulado},
		{"non-ASCII text", conCampos(t, campos{"sunat_note": `"Observación: número ñandú"`}), contracts.Aceptado},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := contracts.Decode(tt.body)
			if err != nil {
				t.Fatalf("Decode(%s) = %v", tt.body, err)
			}
			if err := n.Validate(); err != nil {
				t.Errorf("Validate() after Decode = %v", err)
			}
			if got := n.Resultado(); got != tt.want {
				t.Errorf("Resultado() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	seed := string(seedPayload(t))
	type rechazo struct {
		name  string
		body  []byte
		field string // the FieldError's Field
	}
	tests := []rechazo{
		// The document as a whole.
		{"empty", []byte(""), "body"},
		{"only whitespace", []byte(" \n\t"), "body"},
		{"array", []byte(`[` + seed + `]`), "body"},
		{"string", []byte(`"hola"`), "body"},
		{"number", []byte(`42`), "body"},
		{"null", []byte(`null`), "body"},
		{"byte order mark", append([]byte("\xef\xbb\xbf"), seed...), "body"},
		{"not JSON", []byte(`tipo_de_comprobante=2&serie=BBB1`), "body"},
		{"truncated", []byte(seed[:len(seed)/2]), "body"},
		{"unclosed object", []byte(`{`), "body"},
		{"missing colon", []byte(`{"serie" "BBB1"}`), "body"},
		{"trailing comma", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,}`), "body"},
		{"trailing garbage", []byte(seed + ` x`), "body"},
		{"second object", []byte(seed + `{}`), "body"},
		{"trailing brace", []byte(seed + `}`), "body"},
		{"trailing bracket", []byte(seed + `]`), "body"},
		// Built by hand: json.Marshal, in conCampos, would replace the bad bytes.
		{"invalid UTF-8 in a value", []byte(strings.Replace(seed, `"codigo_hash"`, "\"sunat_note\": \"a\xffb\", \"codigo_hash\"", 1)), "body"},
		{"truncated UTF-8 sequence", []byte("{\"tipo_de_comprobante\":2,\"serie\":\"BBB1\",\"numero\":105,\"sunat_note\":\"\xc3\x28\"}"), "body"},

		// Known fields with the wrong JSON type are named.
		{"numero as string", conCampos(t, campos{"numero": `"105"`}), "numero"},
		{"numero fractional", conCampos(t, campos{"numero": `105.5`}), "numero"},
		{"numero with exponent", conCampos(t, campos{"numero": `1e3`}), "numero"},
		{"numero overflows int", conCampos(t, campos{"numero": `99999999999999999999999`}), "numero"},
		{"tipo as string", conCampos(t, campos{"tipo_de_comprobante": `"2"`}), "tipo_de_comprobante"},
		{"serie as number", conCampos(t, campos{"serie": `1234`}), "serie"},
		{"responsecode as number", conCampos(t, campos{"sunat_responsecode": `0`}), "sunat_responsecode"},
		{"aceptada as string", conCampos(t, campos{"aceptada_por_sunat": `"true"`}), "aceptada_por_sunat"},
		{"anulado as number", conCampos(t, campos{"anulado": `1`}), "anulado"},
		{"enlace as object", conCampos(t, campos{"enlace": `{}`}), "enlace"},
		{"codigo_hash as array", conCampos(t, campos{"codigo_hash": `["x"]`}), "codigo_hash"},

		// Validation runs after decoding.
		{"no fields", []byte(`{}`), "tipo_de_comprobante"},
		{"tipo null", conCampos(t, campos{"tipo_de_comprobante": `null`}), "tipo_de_comprobante"},
		{"serie missing", conCampos(t, campos{"serie": quitar}), "serie"},
		{"numero null", conCampos(t, campos{"numero": `null`}), "numero"},
		{"numero zero", conCampos(t, campos{"numero": `0`}), "numero"},
		{"responsecode not digits", conCampos(t, campos{"sunat_responsecode": `"abc"`}), "sunat_responsecode"},
	}
	// Postgres text cannot hold NUL: every string field refuses it, by name.
	for _, f := range []string{
		"serie", "enlace", "sunat_description", "sunat_note", "sunat_responsecode",
		"sunat_soap_error", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr", "codigo_hash",
		"cadena_para_codigo_qr", "codigo_de_barras", "pdf_zip_base64", "xml_zip_base64",
		"cdr_zip_base64",
	} {
		tests = append(tests, rechazo{"NUL in " + f, conCampos(t, campos{f: `"B\u0000B1"`}), f})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := contracts.Decode(tt.body)
			wantFieldError(t, err, tt.field)
			if n != (contracts.Notificacion{}) {
				t.Errorf("Decode returned %+v with its error, want the zero Notificacion", n)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	seed := seedPayload(f)
	f.Add(seed)
	for _, s := range []string{
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}`,
		`{"tipo_de_comprobante":1,"serie":"0001","numero":99999999,"aceptada_por_sunat":true,"sunat_responsecode":"4000","sunat_note":"obs"}`,
		`{"tipo_de_comprobante":3,"serie":"FC01","numero":1,"aceptada_por_sunat":false,"sunat_responsecode":"2033","codigo_hash":null}`,
		`{"tipo_de_comprobante":4,"serie":"BD01","numero":7,"anulado":true}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_responsecode":"0100"}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":"105"}`,
		`{"tipo_de_comprobante":5,"serie":"BBB1","numero":105}`,
		`{"tipo_de_comprobante":2,"serie":"bbb1","numero":100000000}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"enlace":"a\u0000b"}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"SERIE":"FFF1","x":[{}]}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105} {}`,
		"{\"tipo_de_comprobante\":2,\"serie\":\"BBB1\",\"numero\":105,\"sunat_note\":\"\xff\"}",
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_note":"\ud800"}`,
		`[]`, `null`, ``, `{`, `{"numero":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := contracts.Decode(body)
		if err != nil {
			if !errors.Is(err, contracts.ErrPayload) {
				t.Fatalf("Decode error %v is not ErrPayload", err)
			}
			var fe *contracts.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("Decode error %v does not name a field", err)
			}
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("Decode accepted what Validate refuses: %v", err)
		}
		id := contracts.MessageID(n)
		if again := contracts.MessageID(n); again != id {
			t.Fatalf("MessageID not stable: %q then %q", id, again)
		}
		if !strings.HasPrefix(id, n.Clave().String()+".") {
			t.Fatalf("MessageID %q does not start with the clave %q", id, n.Clave())
		}

		// What we accepted must survive being re-encoded, as it is when it crosses the stream.
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := contracts.Decode(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if got := contracts.MessageID(m); got != id {
			t.Fatalf("MessageID after a round trip = %q, want %q", got, id)
		}
		if got, want := m.Resultado(), n.Resultado(); got != want {
			t.Fatalf("Resultado after a round trip = %q, want %q", got, want)
		}
	})
}

func ExampleDecode() {
	n, err := contracts.Decode([]byte(`{
		"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": true, "sunat_responsecode": "0",
		"enlace_del_cdr": "https://www.nubefact.com/cpe/xxx.cdr",
		"codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY="
	}`))
	fmt.Println(n.Clave(), n.Resultado(), *n.EnlaceDelCDR, err)

	_, err = contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": "105"}`))
	var fe *contracts.FieldError
	fmt.Println(errors.Is(err, contracts.ErrPayload), errors.As(err, &fe), fe.Field)
	fmt.Println(err)
	// Output:
	// 2-BBB1-105 aceptado https://www.nubefact.com/cpe/xxx.cdr <nil>
	// true true numero
	// numero: must be an integer, got JSON string
}

func BenchmarkDecode(b *testing.B) {
	body := seedPayload(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := contracts.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
