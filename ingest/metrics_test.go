package ingest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkMetricsPerWebhook measures what metrics add to one webhook: the promhttp wrappers
// (status counter, duration histogram) and the publish observation, around a handler that does
// nothing. make bench compares whole runs with metrics on and off; this isolates their cost
// from the machine's noise.
func BenchmarkMetricsPerWebhook(b *testing.B) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodPost, "/webhooks/nubefact", nil)
	for _, tt := range []struct {
		name string
		m    *metrics
	}{{"off", nil}, {"on", newMetrics(2)}} {
		b.Run(tt.name, func(b *testing.B) {
			h := tt.m.instrument(inner)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
				tt.m.published(time.Millisecond, false)
			}
		})
	}
}
