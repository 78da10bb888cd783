package reconciler

import (
	"net/http"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
)

// routes is the whole HTTP surface of the reconciler. Anything else is a 404 or 405 problem,
// never a redirect (see httpapi.StrictMux).
func routes(store *postgres.Store, nc *nats.Conn, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /healthz", httpapi.Healthz())
	mux.Handle("GET /readyz", handleReadyz(store, nc))
	return httpapi.StrictMux(mux)
}
