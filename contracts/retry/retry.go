// Package retry is the project's one backoff: how long to wait before attempt n of anything
// that may pass (a NubeFacT call, a batch, a redelivery, a start-up step, ingest's publish
// during a leader election). Standard library only, so both services import it.
package retry

import (
	"math/rand/v2"
	"time"
)

// Backoff is base·2^(attempt-1), capped at maxDelay, with ±20% jitter so that instances and
// workers do not retry in step. Attempts start at 1; a base of zero or less means no wait.
func Backoff(attempt int, base, maxDelay time.Duration) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < attempt && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
