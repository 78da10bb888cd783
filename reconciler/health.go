package reconciler

import (
	"context"
	"net/http"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
)

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
