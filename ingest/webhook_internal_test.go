package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// failingPublisher stands for a JetStream that does not acknowledge.
type failingPublisher struct{}

func (failingPublisher) PublishMsg(context.Context, *nats.Msg, ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return nil, errors.New("nats: timeout")
}

func TestWebhookRetryAfterIsWholeSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		retryAfter time.Duration
		want       string
	}{
		{5 * time.Second, "5"},
		{1500 * time.Millisecond, "2"},
		{1400 * time.Millisecond, "1"},
		{0, "1"}, // never "0": that would invite an immediate retry storm
		{100 * time.Millisecond, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.retryAfter.String(), func(t *testing.T) {
			t.Parallel()
			h := handleWebhook(webhookDeps{
				js: failingPublisher{}, topo: contracts.Topologia{Prefijo: "s"},
				tokens: newTokenSet([][]byte{[]byte(tokenA)}), timeout: time.Second,
				retryAfter: tt.retryAfter, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			r := httptest.NewRequest("POST", "/webhooks/nubefact",
				strings.NewReader(`{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}`))
			r.Header.Set("Authorization", "Bearer "+tokenA)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503", w.Code)
			}
			if got := w.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWebhookSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		trustProxy bool
		xff        string
		want       string
	}{
		{"direct", false, "", "192.0.2.7:41234"},
		{"forwarded header ignored without a proxy", false, "203.0.113.9", "192.0.2.7:41234"},
		{"behind a proxy, the entry our proxy appended", true, " 203.0.113.9 , 10.0.0.1", "10.0.0.1"},
		{"behind a proxy, a forged last entry is not an address", true, "203.0.113.9, <script>", "192.0.2.7:41234"},
		{"behind a proxy, no header", true, "", "192.0.2.7:41234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/webhooks/nubefact", nil)
			r.RemoteAddr = "192.0.2.7:41234"
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := (webhookDeps{trustProxy: tt.trustProxy}).remitente(r); got != tt.want {
				t.Errorf("sender = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSinLiderRetriesWhatAnElectionCauses pins which publish errors ingest retries within
// PUBLISH_TIMEOUT: those of a stream without leader, a reconnect, and an earlier attempt of the
// same Nats-Msg-Id still in process (seen on a 3-node cluster while the leader was killed), and
// not those retrying cannot fix.
func TestSinLiderRetriesWhatAnElectionCauses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nats.ErrNoResponders, true},
		{jetstream.ErrNoStreamResponse, true},
		{context.DeadlineExceeded, true},
		{nats.ErrConnectionReconnecting, true},
		{&jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}, true},
		{errors.Join(errors.New("nats"), &jetstream.APIError{Code: 409, ErrorCode: 10158}), true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum messages exceeded"}, false},
		{jetstream.ErrStreamNotFound, false},
		{errors.New("message size exceeds maximum allowed"), false},
	} {
		if got := sinLider(c.err); got != c.want {
			t.Errorf("sinLider(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
