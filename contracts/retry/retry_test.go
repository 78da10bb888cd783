package retry_test

import (
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts/retry"
)

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempt int
		base    time.Duration
		want    time.Duration
	}{
		{1, time.Second, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, time.Second, 4 * time.Second},
		{10, time.Second, 10 * time.Second}, // capped
		{0, time.Second, time.Second},       // attempt 0 is the first
		{5, 0, 0},                           // no base, no wait
	} {
		for range 20 { // the jitter is random: stay within ±20% every time
			d := retry.Backoff(tt.attempt, tt.base, 10*time.Second)
			if d < tt.want*8/10 || d > tt.want*12/10 {
				t.Fatalf("Backoff(%d, %v) = %v, want %v ±20%%", tt.attempt, tt.base, d, tt.want)
			}
		}
	}
}
