package ingest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestWebhookRatePerToken: with WEBHOOK_RATE=1 and WEBHOOK_BURST=2 a token's third quick
// webhook gets a 429 with Retry-After, counted by the token's position, never stored; another
// token keeps its own budget, and requests without a valid token spend none.
func TestWebhookRatePerToken(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	s := startIngestWith(t, true, func(c *ingest.Config) {
		c.WebhookRate, c.WebhookBurst, c.MetricsAddr = 1, 2, metricsAddr
	})

	for range 3 { // unauthenticated: answered before any budget is looked at
		wantProblem(t, s.post(t, "/webhooks/nubefact", notificacion(99), bearer("tokenX-0123456789abcdef")), http.StatusUnauthorized)
	}

	// The bucket refills one webhook a second: on a machine slow enough that seconds pass
	// between requests, a later one may still pass. The first 429 must come within the burst
	// plus what the elapsed time refilled.
	start := time.Now()
	var limited reply
	stored := 0
	for numero := 1; numero <= 20; numero++ {
		r := s.post(t, "/webhooks/nubefact", notificacion(numero), bearer(tokenA))
		if r.status == http.StatusTooManyRequests {
			limited = r
			break
		}
		wantStored(t, r)
		stored++
	}
	if refilled := int(time.Since(start).Seconds()); stored < 2 || stored > 2+refilled {
		t.Fatalf("%d webhooks stored before the first 429 in %v, want 2 (the burst) plus at most %d refilled", stored, time.Since(start), refilled)
	}
	wantProblem(t, limited, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q, want a whole number of seconds, at least 1", limited.header.Get("Retry-After"))
	}
	s.wantMsgs(t, uint64(stored))

	// The other token has a budget of its own.
	for numero := 101; numero <= 102; numero++ {
		wantStored(t, s.post(t, "/webhooks/nubefact?token="+tokenB, notificacion(numero), nil))
	}
	s.wantMsgs(t, uint64(stored+2))

	m := testkit.Scrape(t, "http://"+metricsAddr+"/metrics")
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"ingest_webhooks_rate_limited_total", map[string]string{"token": "1"}, 1},
		{"ingest_webhooks_rate_limited_total", map[string]string{"token": "2"}, 0},
		{"ingest_webhooks_total", map[string]string{"code": "429"}, 1},
		{"ingest_webhooks_total", map[string]string{"code": "401"}, 3},
	} {
		if got, ok := m.Value(tt.name, tt.labels); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
}

// TestWebhookRateOffByDefault: with WEBHOOK_RATE 0 a token sends as fast as it likes.
func TestWebhookRateOffByDefault(t *testing.T) {
	t.Parallel()
	s := startIngestWith(t, true, func(c *ingest.Config) { c.WebhookBurst = 1 })
	for numero := 1; numero <= 10; numero++ {
		wantStored(t, s.post(t, "/webhooks/nubefact", notificacion(numero), bearer(tokenA)))
	}
	s.wantMsgs(t, 10)
}
