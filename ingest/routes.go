package ingest

import (
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// routes is the whole HTTP surface of ingest.
func routes(mux *http.ServeMux, wh webhookDeps, nc *nats.Conn, js jetstream.JetStream) {
	mux.Handle("POST /webhooks/nubefact", handleWebhook(wh))
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(nc, js, wh.stream))
}
