package reconciler

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// With METRICS_ADDR, /metrics is served there alone and no longer on RECONCILER_ADDR; without
// it (TestListener), on RECONCILER_ADDR as before.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.MetricsAddr = l.Addr().String()
	l.Close() // a port taken meanwhile fails the start below: rare, and then the test says so
	s.arrancar(nil)
	metrics, health := "http://"+s.cfg.MetricsAddr, "http://"+s.cfg.Addr

	r := sendHTTP(t, http.MethodGet, metrics+"/metrics", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "reconciler_notifications_total") {
		t.Errorf("GET /metrics on METRICS_ADDR: %d, want 200 with the reconciler's metrics", r.status)
	}
	for _, tt := range []struct {
		method, url string
		want        int
	}{
		{http.MethodGet, health + "/metrics", http.StatusNotFound},
		{http.MethodGet, health + "/healthz", http.StatusOK},
		{http.MethodGet, metrics + "/healthz", http.StatusNotFound},
		{http.MethodGet, metrics + "/readyz", http.StatusNotFound},
		{http.MethodPost, metrics + "/metrics", http.StatusMethodNotAllowed},
	} {
		if r := sendHTTP(t, tt.method, tt.url, nil); r.status != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.url, r.status, tt.want)
		}
	}
}
