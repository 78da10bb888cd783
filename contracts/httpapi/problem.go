package httpapi

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem document. Most have no type of their own (about:blank), and
// then WriteProblem titles them with the HTTP status phrase, as RFC 9457 asks. A problem that
// says more has a type URI of ours (docs/webhook.md lists them), with its own title and
// extension members.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field, an extension member of ingest's notificacion-invalida, names the payload field at
	// fault, so NubeFacT's support (or ours) sees at once what was wrong.
	Field string `json:"field,omitempty"`
	// Budget, an extension member of ingest's claves-desconocidas, is how many bytes the
	// unknown keys of a notification may take (contracts.MaxUnknown).
	Budget int `json:"budget,omitempty"`
}

// WriteProblem answers p as application/problem+json, never cached.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON answers v as application/json, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
