package reconciler

import (
	"context"
	"net/http"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
)

// routes is the HTTP surface of RECONCILER_ADDR; metrics is nil when /metrics has a listener
// of its own (metricsRoutes, on METRICS_ADDR). Anything else is a 404 or 405 problem, never a
// redirect (see httpapi.StrictMux). The console's surface is console.New's.
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

// handleReadyz is ready when Postgres answers and NATS is connected: while either is missing
// the reconciler applies nothing.
func handleReadyz(store *postgres.Store, nc *nats.Conn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			httpapi.NotReady(w, "postgres unreachable")
			return
		}
		if s := nc.Status(); s != nats.CONNECTED {
			httpapi.NotReady(w, "nats "+s.String())
			return
		}
		httpapi.Ready(w)
	})
}
