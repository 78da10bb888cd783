package ingest

import (
	"encoding/json"
	"net/http"
)

// problem is an RFC 9457 problem document. Most have no type of their own (about:blank), and
// then writeProblem titles them with the HTTP status phrase, as RFC 9457 asks. A problem that
// says more has a type URI of ours, with its own title and extension members.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field, an extension member of typeNotificacionInvalida, names the payload field at fault,
	// so NubeFacT's support (or ours) sees at once what was wrong.
	Field string `json:"field,omitempty"`
}

// Our problem types are URNs in the project's namespace, like the events' source and
// dataschema: identifiers, not addresses. docs/webhook.md lists them.
const (
	// typeNotificacionInvalida is a body that is not a valid NubeFacT notification (400).
	typeNotificacionInvalida = "urn:hotelpe:boletas:problem:notificacion-invalida"
)

func writeProblem(w http.ResponseWriter, p problem) {
	if p.Type == "" {
		p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
