package reconciler

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

// TestListener checks what any client meets on RECONCILER_ADDR before a route runs: the header
// cap, problem documents for unknown paths and methods, and no redirects.
func TestListener(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	s.arrancar(nil)
	base := "http://" + s.cfg.Addr

	// Each request has a connection of its own: on a reused one net/http may have buffered the
	// start of the next request already, up to 4 KiB that the cap does not count.
	t.Run("header cap", func(t *testing.T) {
		tests := []struct {
			name    string
			padding int // bytes of one X-Padding header, besides the request line and the client's own headers
			want    int
		}{
			{"1 KiB under the cap", httpapi.MaxHeader - 1024, http.StatusOK},
			{"just over the cap", httpapi.MaxHeader, http.StatusRequestHeaderFieldsTooLarge},
			{"20 KiB", 20 << 10, http.StatusRequestHeaderFieldsTooLarge},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := sendHTTP(t, http.MethodGet, base+"/healthz", http.Header{"X-Padding": {strings.Repeat("a", tt.padding)}})
				if r.status != tt.want {
					t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
				}
			})
		}
	})

	// Its routes, and that the listener is wrapped in httpapi.StrictMux (which contracts/httpapi
	// tests): anything else is a 404 or 405 problem, never a redirect.
	t.Run("routes", func(t *testing.T) {
		tests := []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, "/healthz", http.StatusOK},
			{http.MethodGet, "/readyz", http.StatusOK},
			{http.MethodGet, "/metrics", http.StatusOK},
			{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
			{http.MethodGet, "/debug/pprof/", http.StatusNotFound},
			{http.MethodGet, "//healthz?token=s3cr3t", http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.method+" "+tt.path, func(t *testing.T) {
				r := sendHTTP(t, tt.method, base+tt.path, nil)
				if tt.want == http.StatusOK {
					if r.status != tt.want {
						t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
					}
					return
				}
				wantProblem(t, r, tt.want)
			})
		}
	})
}

type httpReply struct {
	status int
	header http.Header
	body   []byte
}

// sendHTTP sends one request to url, on a connection of its own, without following redirects.
func sendHTTP(t *testing.T, method, url string, header http.Header) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", method, url, err)
	}
	return httpReply{status: resp.StatusCode, header: resp.Header, body: body}
}

// wantProblem checks that r is an RFC 9457 problem document with this status, of type
// about:blank and titled with the status phrase.
func wantProblem(t *testing.T, r httpReply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", r.body, err)
	}
	if want := (httpapi.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status}); p.Type != want.Type || p.Title != want.Title || p.Status != want.Status {
		t.Errorf("problem = %+v, want %+v", p, want)
	}
}
