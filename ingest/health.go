package ingest

import (
	"context"
	"net/http"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// handleReadyz reports ready when NATS is connected and the notifications stream answers: only
// then can a webhook get its 200.
func handleReadyz(nc *nats.Conn, js jetstream.JetStream, stream string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := nc.Status(); s != nats.CONNECTED {
			httpapi.NotReady(w, "nats "+s.String())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := js.Stream(ctx, stream); err != nil {
			httpapi.NotReady(w, "stream "+stream+": "+err.Error())
			return
		}
		httpapi.Ready(w)
	})
}
