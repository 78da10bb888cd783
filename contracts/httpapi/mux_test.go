package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

// TestStrictMux is the test of StrictMux's behaviour; the services only check that their
// listeners are wrapped in it.
func TestStrictMux(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("POST /x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	mux.Handle("GET /g", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	// A route reached through StrictMux gets what the mux gives it: its pattern and path values.
	mux.Handle("GET /p/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Pattern + " " + r.PathValue("id")))
	}))
	h := httpapi.StrictMux(mux)

	const secret = "s3cr3t-0123456789"
	tests := []struct {
		name           string
		method, target string
		status         int
		allow          string // the Allow header of a 405
		body           string // the body of a 2xx, when it says something
	}{
		{"a route", http.MethodPost, "/x", http.StatusNoContent, "", ""},
		{"a GET route", http.MethodGet, "/g", http.StatusOK, "", ""},
		{"HEAD of a GET route", http.MethodHead, "/g", http.StatusOK, "", ""},
		{"pattern and path values", http.MethodGet, "/p/42", http.StatusOK, "", "GET /p/{id} 42"},

		{"another method", http.MethodGet, "/x", http.StatusMethodNotAllowed, "POST", ""},
		{"another method of a GET route", http.MethodPost, "/g", http.StatusMethodNotAllowed, "GET, HEAD", ""},
		{"DELETE of a GET route", http.MethodDelete, "/g", http.StatusMethodNotAllowed, "GET, HEAD", ""},
		{"an unknown path", http.MethodPost, "/y", http.StatusNotFound, "", ""},
		{"the root", http.MethodGet, "/", http.StatusNotFound, "", ""},
		{"the root of no pattern", http.MethodGet, "/p/", http.StatusNotFound, "", ""},

		// Paths the mux would clean with a redirect, whose Location would repeat the query string.
		{"double slash first", http.MethodPost, "//x?token=" + secret, http.StatusNotFound, "", ""},
		{"double slash inside", http.MethodGet, "/p//42?token=" + secret, http.StatusNotFound, "", ""},
		{"dot segment", http.MethodPost, "/./x?token=" + secret, http.StatusNotFound, "", ""},
		{"dot-dot segment", http.MethodPost, "/a/../x?token=" + secret, http.StatusNotFound, "", ""},
		{"trailing slash", http.MethodPost, "/x/?token=" + secret, http.StatusNotFound, "", ""},
		{"trailing dot", http.MethodGet, "/g/.?token=" + secret, http.StatusNotFound, "", ""},
		{"unknown and unclean", http.MethodGet, "/a//b?token=" + secret, http.StatusNotFound, "", ""},
		{"unclean, wrong method", http.MethodGet, "//x?token=" + secret, http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.target, rec.Code, tt.status)
			}
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Errorf("%s %s: redirected to %q", tt.method, tt.target, loc)
			}
			if allow := rec.Header().Get("Allow"); allow != tt.allow {
				t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.target, allow, tt.allow)
			}
			for k, vs := range rec.Header() {
				for _, v := range vs {
					if strings.Contains(v, secret) {
						t.Errorf("%s %s: header %s repeats the query string: %q", tt.method, tt.target, k, v)
					}
				}
			}
			if strings.Contains(rec.Body.String(), secret) {
				t.Errorf("%s %s: the body repeats the query string: %s", tt.method, tt.target, rec.Body)
			}
			if tt.status < 400 {
				if got := rec.Body.String(); got != tt.body {
					t.Errorf("%s %s: body %q, want %q", tt.method, tt.target, got, tt.body)
				}
				return
			}
			var p httpapi.Problem
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil ||
				p.Status != tt.status || p.Type != "about:blank" || p.Title != http.StatusText(tt.status) {
				t.Errorf("%s %s: %s %q, want a problem document for %d", tt.method, tt.target, ct, rec.Body, tt.status)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("%s %s: Cache-Control %q, want no-store", tt.method, tt.target, cc)
			}
		})
	}
}
