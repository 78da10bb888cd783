package contracts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// Decode parses a notification and validates it. Whatever the Content-Type said, the body must
// be one JSON object in UTF-8; unknown fields are ignored (NubeFacT adds fields over time), but a
// known field with the wrong type is an error naming that field.
func Decode(data []byte) (Notificacion, error) {
	var n Notificacion
	if !utf8.Valid(data) {
		return n, &FieldError{Field: "body", Reason: "not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return n, &FieldError{Field: "body", Reason: "empty"}
	}
	if trimmed[0] != '{' {
		return n, &FieldError{Field: "body", Reason: "must be a JSON object"}
	}
	// Unmarshal also refuses anything after the object (a stray "}" included).
	if err := json.Unmarshal(trimmed, &n); err != nil {
		return Notificacion{}, jsonError(err)
	}
	if err := n.Validate(); err != nil {
		return Notificacion{}, err
	}
	return n, nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &FieldError{Field: typeErr.Field, Reason: fmt.Sprintf("must be %s, got JSON %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
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
