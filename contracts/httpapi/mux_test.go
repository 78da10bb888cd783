package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

func TestStrictMux(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("POST /x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	h := httpapi.StrictMux(mux)
	tests := []struct {
		method, target string
		status         int
		allow          string
	}{
		{"POST", "/x", http.StatusNoContent, ""},
		{"GET", "/x", http.StatusMethodNotAllowed, "POST"},
		{"POST", "/y", http.StatusNotFound, ""},
		{"POST", "//x?token=secret", http.StatusNotFound, ""}, // the mux would redirect, query and all
		{"POST", "/a/../x", http.StatusNotFound, ""},
		{"POST", "/./x", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.target, rec.Code, tt.status)
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Errorf("%s %s: redirected to %q", tt.method, tt.target, loc)
		}
		if tt.status == http.StatusNoContent {
			continue
		}
		if allow := rec.Header().Get("Allow"); allow != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.target, allow, tt.allow)
		}
		var p httpapi.Problem
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil ||
			p.Status != tt.status || p.Type != "about:blank" || p.Title != http.StatusText(tt.status) {
			t.Errorf("%s %s: %s %q, want a problem document for %d", tt.method, tt.target, ct, rec.Body, tt.status)
		}
	}
}
