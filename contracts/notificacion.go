package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Notificacion is NubeFacT's standard response: the body of its webhook and the answer to
// Operation 2 (consultar_comprobante). NubeFacT may send any field as null or leave it out, so
// every field is a pointer; nil means "null or absent".
type Notificacion struct {
	TipoDeComprobante  *int    `json:"tipo_de_comprobante"`
	Serie              *string `json:"serie"`
	Numero             *int    `json:"numero"`
	Enlace             *string `json:"enlace"`
	AceptadaPorSunat   *bool   `json:"aceptada_por_sunat"`
	SunatDescription   *string `json:"sunat_description"`
	SunatNote          *string `json:"sunat_note"`
	SunatResponsecode  *string `json:"sunat_responsecode"`
	SunatSoapError     *string `json:"sunat_soap_error"`
	Anulado            *bool   `json:"anulado"`
	EnlaceDelPDF       *string `json:"enlace_del_pdf"`
	EnlaceDelXML       *string `json:"enlace_del_xml"`
	EnlaceDelCDR       *string `json:"enlace_del_cdr"`
	CodigoHash         *string `json:"codigo_hash"`
	CadenaParaCodigoQR *string `json:"cadena_para_codigo_qr"`
	CodigoDeBarras     *string `json:"codigo_de_barras"`
	PDFZipBase64       *string `json:"pdf_zip_base64"`
	XMLZipBase64       *string `json:"xml_zip_base64"`
	CDRZipBase64       *string `json:"cdr_zip_base64"`
}

// Clave identifies a comprobante: the key NubeFacT, SUNAT and our table share.
type Clave struct {
	TipoDeComprobante int
	Serie             string
	Numero            int
}

// String renders the key as "2-BBB1-105", the form used in IDs and logs.
func (c Clave) String() string {
	return fmt.Sprintf("%d-%s-%d", c.TipoDeComprobante, c.Serie, c.Numero)
}

// Clave returns the notification's key. Call it on a validated notification only.
func (n Notificacion) Clave() Clave {
	return Clave{TipoDeComprobante: deref(n.TipoDeComprobante), Serie: deref(n.Serie), Numero: deref(n.Numero)}
}

// ErrPayload is the root of every decoding and validation error: errors.Is(err, ErrPayload)
// tells bad input apart from failures of our own.
var ErrPayload = errors.New("invalid notification")

// FieldError names the field of a payload that is wrong and why. Field is the JSON name, or
// "body" when the document as a whole is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes every FieldError match ErrPayload.
func (e *FieldError) Is(target error) bool { return target == ErrPayload }

// Decoder decodes and validates NubeFacT's notifications. Its zero value, which Decode uses,
// accepts links to any https host.
type Decoder struct {
	// EnlaceHosts, when not empty, are the only hosts the links (enlace, enlace_del_pdf,
	// enlace_del_xml, enlace_del_cdr) may point to. An entry matches a host exactly, ignoring
	// ASCII case; an entry "*.nubefact.com" matches every subdomain of nubefact.com but not
	// nubefact.com itself. Entries should pass ValidarHostDeEnlace.
	EnlaceHosts []string
	// MaxUnknown, when positive, is how many bytes the keys of no Notificacion field and their
	// values may take in all (see checkKeys for how they are counted); more is an
	// *UnknownTooLargeError. Ingest sets it to MaxUnknown: the audit keeps every payload byte for
	// byte, and a leaked token must not be able to fill it with keys nobody reads. The reconciler
	// leaves it at 0, so that what ingest stored before, under older rules, still applies.
	MaxUnknown int
}

// MaxUnknown is the budget of unknown keys ingest allows a notification (Decoder.MaxUnknown).
// NubeFacT's standard response has none today; 4 KiB leaves room for the fields it adds.
const MaxUnknown = 4 << 10

// UnknownTooLargeError is a notification whose unknown keys and their values take Size bytes,
// more than the decoder's budget Max. Like a *FieldError it matches ErrPayload; ingest answers
// it with 413 rather than 400, since it is the size, not the shape, that is refused.
type UnknownTooLargeError struct {
	Size, Max int
}

func (e *UnknownTooLargeError) Error() string {
	return fmt.Sprintf("body: the unknown keys and their values take %d bytes, over the budget of %d", e.Size, e.Max)
}

// Is makes every UnknownTooLargeError match ErrPayload.
func (e *UnknownTooLargeError) Is(target error) bool { return target == ErrPayload }

// Decode parses a notification and validates it, links to any https host allowed.
func Decode(data []byte) (Notificacion, error) {
	return Decoder{}.Decode(data)
}

// bom is UTF-8's byte-order mark, which some senders put before a body.
var bom = []byte("\xef\xbb\xbf")

// Decode parses a notification and validates it. Whatever the Content-Type said, the body must
// be one JSON object in UTF-8 (a byte-order mark before it is skipped). Unknown keys are
// ignored (NubeFacT adds fields over time), within d.MaxUnknown if it is set, but a key given
// twice, or one that differs from a known field's only in letter case, is an error naming that
// key: see checkKeys.
// A known field with the wrong type is an error naming that field; tipo_de_comprobante and
// numero may also be strings of digits, and sunat_responsecode a number (see jsonvalues.go).
// Then Validate's rules apply, and the links must point to one of d.EnlaceHosts if it is set.
func (d Decoder) Decode(data []byte) (Notificacion, error) {
	if !utf8.Valid(data) {
		return Notificacion{}, &FieldError{Field: "body", Reason: "not valid UTF-8"}
	}
	// JSON's whitespace only: bytes.TrimSpace would also take \f or U+00A0, which no JSON
	// reader accepts around a document.
	trimmed := bytes.Trim(bytes.TrimPrefix(data, bom), " \t\r\n")
	if len(trimmed) == 0 {
		return Notificacion{}, &FieldError{Field: "body", Reason: "empty"}
	}
	if trimmed[0] != '{' {
		return Notificacion{}, notAnObject(trimmed)
	}
	// Unmarshal checks the whole document's syntax before it decodes anything, and refuses
	// anything after the object (a stray "}" included): once it got past that, checkKeys may
	// skim the object as valid JSON.
	var e notificacionJSON
	err := json.Unmarshal(trimmed, &e)
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return Notificacion{}, jsonError(err)
	}
	if err := checkKeys(trimmed, d.MaxUnknown); err != nil {
		return Notificacion{}, err
	}
	if err != nil {
		return Notificacion{}, jsonError(err)
	}
	n, err := e.notificacion()
	if err != nil {
		return Notificacion{}, err
	}
	if err := n.validate(d.EnlaceHosts); err != nil {
		return Notificacion{}, err
	}
	return n, nil
}

// notificacionJSON is what Decode unmarshals: a Notificacion whose fields of two spellings are
// read by the types in jsonvalues.go. encoding/json lets the outer fields win over the embedded
// ones of the same JSON name.
type notificacionJSON struct {
	Notificacion
	TipoDeComprobante intOrString  `json:"tipo_de_comprobante"`
	Numero            intOrString  `json:"numero"`
	SunatResponsecode codeOrNumber `json:"sunat_responsecode"`
}

func (e *notificacionJSON) notificacion() (Notificacion, error) {
	for _, f := range [...]struct{ name, reason string }{
		{"tipo_de_comprobante", e.TipoDeComprobante.reason},
		{"numero", e.Numero.reason},
		{"sunat_responsecode", e.SunatResponsecode.reason},
	} {
		if f.reason != "" {
			return Notificacion{}, &FieldError{f.name, f.reason}
		}
	}
	n := e.Notificacion
	n.TipoDeComprobante, n.Numero, n.SunatResponsecode = e.TipoDeComprobante.v, e.Numero.v, e.SunatResponsecode.v
	return n, nil
}

// notAnObject says what a body that is not a JSON object is instead.
func notAnObject(b []byte) error {
	if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
		return jsonError(err)
	}
	got := "a number"
	switch b[0] {
	case '[':
		got = "an array"
	case '"':
		got = "a string"
	case 't', 'f':
		got = "true or false"
	case 'n':
		got = "null"
	}
	return &FieldError{Field: "body", Reason: "must be a JSON object, got " + got}
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		// The path goes through notificacionJSON's embedded Notificacion.
		field := strings.TrimPrefix(typeErr.Field, "Notificacion.")
		return &FieldError{Field: field, Reason: fmt.Sprintf("must be %s, got JSON %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &FieldError{Field: "body", Reason: fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)}
	default:
		return &FieldError{Field: "body", Reason: "invalid JSON: " + err.Error()}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int":
		return "an integer"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	}
	return goKind
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// MaxPayload is the largest notification accepted, in bytes. NubeFacT's standard response is well
// under 2 KiB; only the optional *_zip_base64 fields make it grow.
const MaxPayload = 64 << 10
