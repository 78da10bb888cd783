package reconciler

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// reconcilerHTTP starts a reconciler and returns the base URL of its listener (RECONCILER_ADDR).
func reconcilerHTTP(t *testing.T) string {
	t.Helper()
	s := sharedSistema(t)
	cfg := s.reconcilerConfig()
	s.arrancarReconciler(cfg)
	return "http://" + cfg.Addr
}

type httpReply struct {
	status int
	header http.Header
	body   []byte
}

// sendHTTP sends one request to url without following redirects.
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
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(client.CloseIdleConnections)
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

// TestHeaderLimit: request headers past MaxHeader get a 431; a little less is served.
func TestHeaderLimit(t *testing.T) {
	t.Parallel()
	base := reconcilerHTTP(t)
	tests := []struct {
		name    string
		padding int // bytes of one X-Padding header, besides the request line and the client's own headers
		want    int
	}{
		{"1 KiB under the cap", MaxHeader - 1024, http.StatusOK},
		{"just over the cap", MaxHeader, http.StatusRequestHeaderFieldsTooLarge},
		{"20 KiB", 20 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := sendHTTP(t, http.MethodGet, base+"/healthz", http.Header{"X-Padding": {strings.Repeat("a", tt.padding)}})
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
			}
		})
	}
}
