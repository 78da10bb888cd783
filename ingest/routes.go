package ingest

import (
	"net/http"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// routes is the whole HTTP surface of ingest. Anything else is a 404 or 405 problem, never a
// redirect (see httpapi.StrictMux).
func routes(wh webhookDeps, nc *nats.Conn, js jetstream.JetStream) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/nubefact", wh.metrics.instrument(handleWebhook(wh)))
	mux.Handle("GET /healthz", httpapi.Healthz())
	mux.Handle("GET /readyz", handleReadyz(nc, js, wh.topo.StreamNotificaciones()))
	return httpapi.StrictMux(mux)
}
