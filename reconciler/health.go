package reconciler

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
)

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

// handleReadyz is ready when Postgres answers and NATS is connected: while either is missing
// the reconciler applies nothing.
func handleReadyz(store *postgres.Store, nc *nats.Conn) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			encode(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "postgres unreachable"})
			return
		}
		if s := nc.Status(); s != nats.CONNECTED {
			encode(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "nats " + s.String()})
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
