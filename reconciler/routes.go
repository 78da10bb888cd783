package reconciler

import (
	"net/http"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
)

// routes is the HTTP surface of RECONCILER_ADDR; metrics is nil when /metrics has a listener
// of its own (metricsRoutes, on METRICS_ADDR). Anything else is a 404 or 405 problem, never a
// redirect (see httpapi.StrictMux). The console's surface is consola.New's.
func routes(store *postgres.Store, nc *nats.Conn, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.Handle("GET /healthz", httpapi.Healthz())
	mux.Handle("GET /readyz", handleReadyz(store, nc))
	return httpapi.StrictMux(mux)
}

// metricsRoutes is the surface of METRICS_ADDR: GET /metrics alone.
func metricsRoutes(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return httpapi.StrictMux(mux)
}
