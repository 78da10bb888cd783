package contracts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
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

func TestDecodificarLaSemilla(t *testing.T) {
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

func TestDecodificarAcepta(t *testing.T) {
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

		// Unambiguous spellings are normalised (TestDecodeNormaliza compares the results).
		{"byte order mark", append([]byte("\xef\xbb\xbf"), seedPayload(t)...), contracts.Aceptado},
		{"byte order mark and whitespace", []byte("\xef\xbb\xbf\n " + string(seedPayload(t))), contracts.Aceptado},
		{"numero as string", conCampos(t, campos{"numero": `"105"`}), contracts.Aceptado},
		{"tipo as string", conCampos(t, campos{"tipo_de_comprobante": `"2"`}), contracts.Aceptado},
		{"numero as escaped digits", conCampos(t, campos{"numero": `"\u0031\u00305"`}), contracts.Aceptado},
		{"responsecode as number 0", conCampos(t, campos{"sunat_responsecode": `0`}), contracts.Aceptado},
		{"responsecode as number 4000", conCampos(t, campos{"sunat_responsecode": `4000`}), contracts.Aceptado},
		{"responsecode as number 2017", conCampos(t, campos{"aceptada_por_sunat": "false", "sunat_responsecode": `2017`}), contracts.Rechazado},
		{"responsecode as number of 8 digits", conCampos(t, campos{"sunat_responsecode": `99999999`}), contracts.Aceptado},

		// Keys: only the top level's known names are checked.
		{"unknown keys differing in case", conCampos(t, campos{"otro": `1`, "OTRO": `2`, "Otro": `3`}), contracts.Aceptado},
		{"known names inside an unknown object", conCampos(t, campos{"x": `{"numero":1,"numero":2,"NUMERO":3,"serie":[{"serie":1}]}`}), contracts.Aceptado},
		{"duplicates inside an unknown array", conCampos(t, campos{"x": `[{"a":1,"a":2},"numero","numero"]`}), contracts.Aceptado},
		{"escaped key of a known field", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","\u006eumero":105}`), contracts.SinResultado},
		{"strings with quotes and braces", conCampos(t, campos{"sunat_note": `"a \"numero\": {[\\"`, "x": `"\\"`}), contracts.Aceptado},

		// Links: https, any host, or nothing yet.
		{"links empty", conCampos(t, campos{"enlace": `""`, "enlace_del_pdf": `""`, "enlace_del_xml": `""`, "enlace_del_cdr": `""`}), contracts.Aceptado},
		{"link with port, query and fragment", conCampos(t, campos{"enlace_del_cdr": `"https://www.nubefact.com:8443/cpe/x.cdr?a=1#b"`}), contracts.Aceptado},
		{"link of 2048 bytes", conCampos(t, campos{"enlace_del_pdf": `"` + enlaceDe(2048) + `"`}), contracts.Aceptado},
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

func TestDecodificarRechaza(t *testing.T) {
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
		{"two byte order marks", append([]byte("\xef\xbb\xbf\xef\xbb\xbf"), seed...), "body"},
		{"byte order mark after whitespace", append([]byte(" \xef\xbb\xbf"), seed...), "body"},
		{"only a byte order mark", []byte("\xef\xbb\xbf"), "body"},
		{"form feed after the object", []byte(seed + "\f"), "body"},
		{"vertical tab before the object", []byte("\v" + seed), "body"},
		{"no-break space before the object", []byte("\u00a0" + seed), "body"},
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
		{"numero fractional", conCampos(t, campos{"numero": `105.5`}), "numero"},
		{"numero with exponent", conCampos(t, campos{"numero": `1e3`}), "numero"},
		{"numero overflows int", conCampos(t, campos{"numero": `99999999999999999999999`}), "numero"},
		{"numero as bool", conCampos(t, campos{"numero": `true`}), "numero"},
		{"numero as object", conCampos(t, campos{"numero": `{"v":105}`}), "numero"},
		{"numero as array", conCampos(t, campos{"numero": `[105]`}), "numero"},
		{"serie as number", conCampos(t, campos{"serie": `1234`}), "serie"},
		{"responsecode as bool", conCampos(t, campos{"sunat_responsecode": `false`}), "sunat_responsecode"},
		{"responsecode as object", conCampos(t, campos{"sunat_responsecode": `{}`}), "sunat_responsecode"},
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
	// Strings of digits are read as numbers only when they are spelled as JSON spells numbers.
	for _, v := range []string{`"0105"`, `"105a"`, `""`, `" 105"`, `"105 "`, `"-105"`, `"+105"`, `"1e3"`, `"105.0"`, `"0x69"`, `"١٠٥"`, `"99999999999999999999999"`} {
		tests = append(tests,
			rechazo{"numero " + v, conCampos(t, campos{"numero": v}), "numero"},
			rechazo{"tipo " + v, conCampos(t, campos{"tipo_de_comprobante": v}), "tipo_de_comprobante"})
	}
	tests = append(tests,
		rechazo{"tipo \"02\"", conCampos(t, campos{"tipo_de_comprobante": `"02"`}), "tipo_de_comprobante"},
		rechazo{"tipo \"2a\"", conCampos(t, campos{"tipo_de_comprobante": `"2a"`}), "tipo_de_comprobante"},
		rechazo{"tipo \"5\"", conCampos(t, campos{"tipo_de_comprobante": `"5"`}), "tipo_de_comprobante"},
		rechazo{"numero \"0\"", conCampos(t, campos{"numero": `"0"`}), "numero"},
		rechazo{"numero \"100000000\"", conCampos(t, campos{"numero": `"100000000"`}), "numero"},
	)
	// sunat_responsecode as a number: a whole number of at most 8 digits.
	for _, v := range []string{`-1`, `-0`, `0.5`, `4000.0`, `4e3`, `1E3`, `123456789`, `99999999999999999999999`} {
		tests = append(tests, rechazo{"responsecode " + v, conCampos(t, campos{"sunat_responsecode": v}), "sunat_responsecode"})
	}

	// Keys that readers disagree on, named as sent. Built by hand: conCampos goes through a map.
	conPrimero := func(kv string) []byte { return []byte("{" + kv + "," + seed[1:]) }
	tests = append(tests,
		rechazo{"numero twice", conPrimero(`"numero":130`), "numero"},
		rechazo{"numero twice, same value", conPrimero(`"numero":105`), "numero"},
		rechazo{"numero twice, one escaped", conPrimero(`"\u006eumero":130`), "numero"},
		rechazo{"numero twice, one null", conPrimero(`"numero":null`), "numero"},
		rechazo{"serie twice", conPrimero(`"serie":"BBB2"`), "serie"},
		rechazo{"enlace_del_cdr twice", conPrimero(`"enlace_del_cdr":"https://www.nubefact.com/cpe/otro.cdr"`), "enlace_del_cdr"},
		rechazo{"aceptada_por_sunat twice", conPrimero(`"aceptada_por_sunat":false`), "aceptada_por_sunat"},
		rechazo{"unknown key twice", conPrimero(`"nuevo":1,"nuevo":{"a":[1,"}"]}`), "nuevo"},
		rechazo{"unknown key twice, one escaped", conPrimero(`"nuevo":1,"nuev\u006f":2`), "nuevo"},
		rechazo{"empty key twice", conPrimero(`"":1,"":2`), "body"},
		rechazo{"NUMERO", conPrimero(`"NUMERO":130`), "NUMERO"},
		rechazo{"Numero alone", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","Numero":105}`), "Numero"},
		rechazo{"SERIE", conPrimero(`"SERIE":"FFF1"`), "SERIE"},
		rechazo{"long s in serie", conPrimero(`"ſerie":"BBB2"`), "ſerie"},
		rechazo{"long s in serie, escaped", conPrimero(`"\u017ferie":"BBB2"`), "ſerie"},
		rechazo{"long s in sunat_responsecode", conPrimero(`"ſunat_reſponsecode":"2017"`), "ſunat_reſponsecode"},
		rechazo{"Tipo_De_Comprobante", conPrimero(`"Tipo_De_Comprobante":1`), "Tipo_De_Comprobante"},
		rechazo{"enlace_del_CDR", conPrimero(`"enlace_del_CDR":"https://evil.example/x"`), "enlace_del_CDR"},
		rechazo{"ANULADO", conPrimero(`"ANULADO":true`), "ANULADO"},
	)

	// Links: https with a host, at most 2048 bytes.
	for _, f := range []string{"enlace", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr"} {
		for name, v := range map[string]string{
			"http":              `"http://www.nubefact.com/cpe/x"`,
			"javascript":        `"javascript:alert(1)"`,
			"data":              `"data:text/html,<script>alert(1)</script>"`,
			"file":              `"file:///etc/passwd"`,
			"ftp":               `"ftp://www.nubefact.com/x"`,
			"relative":          `"/cpe/x.pdf"`,
			"no scheme":         `"www.nubefact.com/cpe/x.pdf"`,
			"uppercase scheme":  `"HTTPS://www.nubefact.com/cpe/x.pdf"`,
			"leading space":     `" https://www.nubefact.com/cpe/x.pdf"`,
			"no host":           `"https://"`,
			"empty host":        `"https:///cpe/x.pdf"`,
			"only a port":       `"https://:443/cpe/x.pdf"`,
			"user info":         `"https://www.nubefact.com@evil.example/x.pdf"`,
			"space in host":     `"https://www.nube fact.com/x.pdf"`,
			"control character": `"https://www.nubefact.com/\u0007"`,
			"2049 bytes":        `"` + enlaceDe(2049) + `"`,
			"number":            `5`,
		} {
			tests = append(tests, rechazo{f + " " + name, conCampos(t, campos{f: v}), f})
		}
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

// enlaceDe returns an https link of exactly n bytes.
func enlaceDe(n int) string {
	const prefijo = "https://www.nubefact.com/cpe/"
	return prefijo + strings.Repeat("x", n-len(prefijo))
}

// Both spellings of a value give the same notification, hence the same MessageID: a webhook
// that spells the numero as a string de-duplicates against one that does not.
func TestDecodeNormaliza(t *testing.T) {
	tests := []struct {
		name           string
		canonica, otra []byte
	}{
		{"byte order mark", seedPayload(t), append([]byte("\xef\xbb\xbf"), seedPayload(t)...)},
		{"numero as string", seedPayload(t), conCampos(t, campos{"numero": `"105"`})},
		{"tipo as string", seedPayload(t), conCampos(t, campos{"tipo_de_comprobante": `"2"`})},
		{"responsecode as number", seedPayload(t), conCampos(t, campos{"sunat_responsecode": `0`})},
		{"all at once", seedPayload(t), append([]byte("\xef\xbb\xbf"), conCampos(t, campos{"tipo_de_comprobante": `"2"`, "numero": `"105"`, "sunat_responsecode": `0`})...)},
		// Without a final outcome the code is part of the MessageID.
		{"exception code as number", conCampos(t, campos{"sunat_responsecode": `"1033"`}), conCampos(t, campos{"sunat_responsecode": `1033`})},
		{"rejection code as number", conCampos(t, campos{"aceptada_por_sunat": "false", "sunat_responsecode": `"2017"`}),
			conCampos(t, campos{"aceptada_por_sunat": "false", "sunat_responsecode": `2017`})},
		{"escaped key", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}`), []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","\u006eumero":105}`)},
		{"nulls", []byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}`),
			[]byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_responsecode":null,"enlace":null}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := contracts.Decode(tt.canonica)
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.canonica, err)
			}
			got, err := contracts.Decode(tt.otra)
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.otra, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode(%s) =\n%s, want\n%s", tt.otra, mostrar(got), mostrar(want))
			}
			if g, w := contracts.MessageID(got), contracts.MessageID(want); g != w {
				t.Errorf("MessageID = %q, want %q", g, w)
			}
		})
	}
}

// TestDecodificarDaElMotivoDelCampo checks a few reasons in full: they reach NubeFacT's support in the
// problem body and must say what was wrong.
func TestDecodificarDaElMotivoDelCampo(t *testing.T) {
	seed := string(seedPayload(t))
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"array", []byte(`[1]`), "body: must be a JSON object, got an array"},
		{"string", []byte(`"x"`), "body: must be a JSON object, got a string"},
		{"number", []byte(`-1.5e400`), "body: must be a JSON object, got a number"},
		{"true", []byte(`true`), "body: must be a JSON object, got true or false"},
		{"null", []byte(`null`), "body: must be a JSON object, got null"},
		{"form", []byte(`serie=BBB1&numero=105`), "body: invalid JSON at byte 1: invalid character 's' looking for beginning of value"},
		{"duplicate", []byte(`{"numero":130,` + seed[1:]), "numero: appears more than once; send each field once"},
		{"case variant", []byte(`{"ſerie":"FFF1",` + seed[1:]), "ſerie: differs from serie only in letter case; send serie"},
		{"numero with leading zero", conCampos(t, campos{"numero": `"0105"`}), `numero: must be an integer, or a string of its digits without leading zeros, got "0105"`},
		{"long numero cut short", conCampos(t, campos{"numero": `"` + strings.Repeat("ñ", 20) + `"`}), `numero: must be an integer, or a string of its digits without leading zeros, got "ñññññññññññññññ…`},
		{"numero object", conCampos(t, campos{"numero": `{"a":1}`}), `numero: must be an integer, got a JSON object`},
		{"responsecode fractional", conCampos(t, campos{"sunat_responsecode": `0.5`}), `sunat_responsecode: must be a string of 1 to 8 digits, or a whole number of at most 8 digits, got 0.5`},
		{"http link", conCampos(t, campos{"enlace_del_cdr": `"http://x.example/a"`}), `enlace_del_cdr: must be an https:// URL`},
		{"user info", conCampos(t, campos{"enlace": `"https://a@x.example/a"`}), `enlace: must not carry a user name or password`},
		{"long link", conCampos(t, campos{"enlace": `"` + enlaceDe(3000) + `"`}), `enlace: must be at most 2048 bytes long`},
		{"bad host", conCampos(t, campos{"enlace": `"https://a b/"`}), `enlace: must be an https:// URL: invalid character " " in host name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := contracts.Decode(tt.body)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode error = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestDecoderEnlaceHosts(t *testing.T) {
	d := contracts.Decoder{EnlaceHosts: []string{"www.nubefact.com", "*.amazonaws.com", "CDN.Example.ORG"}}
	tests := []struct {
		enlace string
		ok     bool
	}{
		{"https://www.nubefact.com/cpe/x.cdr", true},
		{"https://WWW.NubeFact.com/cpe/x.cdr", true},
		{"https://www.nubefact.com:8443/cpe/x.cdr", true},
		{"https://cdn.example.org/x", true},
		{"https://s3.amazonaws.com/bucket/x", true},
		{"https://a.b.amazonaws.com/x", true},
		{"", true}, // no link yet

		{"https://nubefact.com/cpe/x.cdr", false},
		{"https://api.nubefact.com/cpe/x.cdr", false},
		{"https://www.nubefact.com.evil.example/x", false},
		{"https://evil.example/www.nubefact.com/x", false},
		{"https://evil.example/?h=www.nubefact.com", false},
		{"https://amazonaws.com/x", false},
		{"https://evilamazonaws.com/x", false},
		{"https://www.nubefact.com./x", false},
		{"https://www.nubefaſt.com/x", false}, // Unicode folding must not open the allow-list
		{"https://cdn.eχample.org/x", false},
		{"https://[::1]/x", false},
		{"http://www.nubefact.com/cpe/x.cdr", false},
	}
	for _, tt := range tests {
		t.Run(tt.enlace, func(t *testing.T) {
			for _, f := range []string{"enlace", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr"} {
				body := conCampos(t, campos{f: strconv.Quote(tt.enlace)})
				n, err := d.Decode(body)
				if tt.ok {
					if err != nil {
						t.Errorf("%s: %v", f, err)
					}
					continue
				}
				wantFieldError(t, err, f)
				if n != (contracts.Notificacion{}) {
					t.Errorf("%s: Decode returned %+v with its error", f, n)
				}
			}
		})
	}
	t.Run("null link", func(t *testing.T) {
		if _, err := d.Decode(conCampos(t, campos{"enlace_del_cdr": `null`})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the zero Decoder takes any https host", func(t *testing.T) {
		body := conCampos(t, campos{"enlace_del_cdr": `"https://evil.example/x"`})
		if _, err := (contracts.Decoder{}).Decode(body); err != nil {
			t.Fatal(err)
		}
		if _, err := contracts.Decode(body); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidarHostDeEnlace(t *testing.T) {
	for _, tt := range []struct {
		entry string
		ok    bool
	}{
		{"www.nubefact.com", true},
		{"WWW.NUBEFACT.COM", true},
		{"*.nubefact.com", true},
		{"localhost", true},
		{"192.0.2.10", true},
		{"a-b.example", true},
		{"", false},
		{"*", false},
		{"*.", false},
		{"*nubefact.com", false},
		{"www.*.com", false},
		{"**.nubefact.com", false},
		{".nubefact.com", false},
		{"www.nubefact.com.", false},
		{"www..com", false},
		{"-a.example", false},
		{"a-.example", false},
		{"https://www.nubefact.com", false},
		{"www.nubefact.com:443", false},
		{"www.nubefact.com/cpe", false},
		{" www.nubefact.com", false},
		{"user@www.nubefact.com", false},
		{"www.nubefaſt.com", false},
		{"[::1]", false},
		{strings.Repeat("a", 64) + ".example", false},
	} {
		t.Run(tt.entry, func(t *testing.T) {
			err := contracts.ValidarHostDeEnlace(tt.entry)
			if (err == nil) != tt.ok {
				t.Errorf("ValidarHostDeEnlace(%q) = %v, want ok=%v", tt.entry, err, tt.ok)
			}
		})
	}
}

// mostrar prints a Notificacion's values rather than its pointers.
func mostrar(n contracts.Notificacion) string {
	b, _ := json.Marshal(n)
	return string(b)
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
		"\xef\xbb\xbf" + `{"tipo_de_comprobante":"2","serie":"BBB1","numero":"105","sunat_responsecode":0,"aceptada_por_sunat":true}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":"0105"}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_responsecode":1033}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"sunat_responsecode":-1.5e3}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":129,"numero":130}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"NUMERO":130}`,
		`{"tipo_de_comprobante":2,"ſerie":"BBB1","numero":105}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","\u006eumero":105,"x":{"numero":1,"numero":2}}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"a\"b":1,"a\"b":2}`,
		`{"":0,"":""}`,
		"{\"tipo_de_comprobante\":2,\"serie\":\"0000\",\"numero\":1}\f",
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"enlace_del_cdr":"http://x.example/a.cdr"}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"enlace":"javascript:alert(1)","enlace_del_pdf":""}`,
		`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"enlace_del_xml":"https://u@x.example:8443/a?b#c"}`,
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"x":"0123456789","y":[1,{"z":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := contracts.Decode(body)
		// A budget of unknown keys (ingest's) refuses more, never something else.
		const budget = 16
		nb, errb := contracts.Decoder{MaxUnknown: budget}.Decode(body)
		if tooLarge, ok := errors.AsType[*contracts.UnknownTooLargeError](errb); ok {
			if tooLarge.Max != budget || tooLarge.Size <= budget || !errors.Is(errb, contracts.ErrPayload) {
				t.Fatalf("budget error %v: size %d, max %d", errb, tooLarge.Size, tooLarge.Max)
			}
		} else if (errb == nil) != (err == nil) || errb != nil && errb.Error() != err.Error() || !reflect.DeepEqual(nb, n) {
			t.Fatalf("with a budget: %+v, %v; without: %+v, %v", nb, errb, n, err)
		}
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

		// What we accepted is what a plain JSON reader sees in the same bytes, the ones the
		// audit stores: each known key read exactly as written, null or absent being nil.
		var plano map[string]json.RawMessage
		if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), &plano); err != nil {
			t.Fatalf("Decode accepted what a plain reader refuses: %v", err)
		}
		want, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var decodificada map[string]json.RawMessage
		if err := json.Unmarshal(want, &decodificada); err != nil {
			t.Fatal(err)
		}
		for campo, valor := range decodificada {
			crudo, ok := plano[campo]
			if !ok || string(crudo) == "null" {
				if string(valor) != "null" {
					t.Fatalf("%s: Decode read %s, a plain reader sees nothing", campo, valor)
				}
				continue
			}
			if !mismoValor(crudo, valor) {
				t.Fatalf("%s: Decode read %s, a plain reader sees %s", campo, valor, crudo)
			}
		}
	})
}

// mismoValor compares a value as sent with the same value as Decode normalised it: equal JSON,
// or a number and the string of its digits (either way round).
func mismoValor(enviado, leido json.RawMessage) bool {
	var a, b any
	if json.Unmarshal(enviado, &a) != nil || json.Unmarshal(leido, &b) != nil {
		return false
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	if s, ok := b.(string); ok { // sunat_responsecode sent as a number
		return string(enviado) == s
	}
	if s, ok := a.(string); ok { // tipo_de_comprobante or numero sent as a string
		return string(leido) == s
	}
	return false
}

func ExampleDecode() {
	n, err := contracts.Decode([]byte(`{
		"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"aceptada_por_sunat": true, "sunat_responsecode": "0",
		"enlace_del_cdr": "https://www.nubefact.com/cpe/xxx.cdr",
		"codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY="
	}`))
	fmt.Println(n.Clave(), n.Resultado(), *n.EnlaceDelCDR, err)

	_, err = contracts.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": "0105"}`))
	var fe *contracts.FieldError
	fmt.Println(errors.Is(err, contracts.ErrPayload), errors.As(err, &fe), fe.Field)
	fmt.Println(err)
	// Output:
	// 2-BBB1-105 aceptado https://www.nubefact.com/cpe/xxx.cdr <nil>
	// true true numero
	// numero: must be an integer, or a string of its digits without leading zeros, got "0105"
}

func ExampleDecoder() {
	d := contracts.Decoder{EnlaceHosts: []string{"www.nubefact.com"}}
	_, err := d.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105,
		"enlace_del_cdr": "https://www.nubefact.com.example/xxx.cdr"}`))
	fmt.Println(err)

	// Both spellings of the numero give one notification, and one MessageID.
	a, _ := d.Decode([]byte(`{"tipo_de_comprobante": 2, "serie": "BBB1", "numero": 105, "sunat_responsecode": "1033"}`))
	b, _ := d.Decode([]byte(`{"tipo_de_comprobante": "2", "serie": "BBB1", "numero": "105", "sunat_responsecode": 1033}`))
	fmt.Println(contracts.MessageID(a) == contracts.MessageID(b))
	// Output:
	// enlace_del_cdr: points to a host that is not allowed (ENLACE_HOSTS)
	// true
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
