package ingest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are ingest's Prometheus metrics, on a registry of this Run's own, served on
// METRICS_ADDR only (never on the public webhook listener). A nil *metrics (METRICS_ADDR
// empty) measures nothing.
type metrics struct {
	registry   *prometheus.Registry
	webhooks   *prometheus.CounterVec   // code
	duration   *prometheus.HistogramVec // no labels
	publish    prometheus.Histogram
	duplicates prometheus.Counter
	limited    *prometheus.CounterVec // token: its position in WEBHOOK_TOKENS, from 1
}

// answered are the statuses the webhook handler answers, present from the start at zero.
var answered = []int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge,
	http.StatusTooManyRequests, http.StatusServiceUnavailable}

// newMetrics makes the metrics of a Run with this many webhook tokens.
func newMetrics(tokens int) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ingest_webhooks_total",
		Help: "Webhook requests answered, by HTTP status (200: stored in JetStream; 503: NubeFacT will retry).",
	}, []string{"code"})
	for _, code := range answered {
		m.webhooks.WithLabelValues(strconv.Itoa(code))
	}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ingest_webhook_duration_seconds",
		Help:    "Time from a webhook request to its answer.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, nil)
	m.publish = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ingest_publish_duration_seconds",
		Help:    "Time JetStream took to store a notification (publish to acknowledgement), failures included.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
	})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ingest_duplicates_total",
		Help: "Webhooks JetStream recognised as duplicates of one stored before (NubeFacT's retries).",
	})
	// The label is the token's position, never the token: the metrics are not secret.
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ingest_webhooks_rate_limited_total",
		Help: "Webhooks answered 429 because their token exceeded WEBHOOK_RATE, by the token's position in WEBHOOK_TOKENS (1 is the first).",
	}, []string{"token"})
	for i := range tokens {
		m.limited.WithLabelValues(strconv.Itoa(i + 1))
	}
	m.registry.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.webhooks, m.duration, m.publish, m.duplicates, m.limited)
	return m
}

// rateLimited counts a 429 of the token at position i of WEBHOOK_TOKENS (from 0).
func (m *metrics) rateLimited(i int) {
	if m != nil {
		m.limited.WithLabelValues(strconv.Itoa(i + 1)).Inc()
	}
}

// instrument counts and times the webhook handler's answers.
func (m *metrics) instrument(h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return promhttp.InstrumentHandlerDuration(m.duration, promhttp.InstrumentHandlerCounter(m.webhooks, h))
}

// published records one publish to JetStream.
func (m *metrics) published(d time.Duration, duplicate bool) {
	if m == nil {
		return
	}
	m.publish.Observe(d.Seconds())
	if duplicate {
		m.duplicates.Inc()
	}
}

// handler is the metrics listener's whole surface: GET /metrics.
func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return httpapi.StrictMux(mux)
}
