// Package rate bounds how often the reconciler calls NubeFacT (regularize --rate, VERIFY_RATE).
package rate

import (
	"context"
	"time"
)

// Limiter lets at most one call start per interval. A nil Limiter does not limit.
type Limiter struct{ tick *time.Ticker }

// New returns a Limiter of perSecond calls, or nil (no limit) when perSecond is not positive or
// so large that its interval rounds to zero.
func New(perSecond float64) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	// A rate so small that its interval overflows waits as long as a Duration can say.
	interval := time.Duration(float64(time.Second) / max(perSecond, 1e-9))
	if interval <= 0 {
		return nil
	}
	return &Limiter{tick: time.NewTicker(interval)}
}

// Wait blocks until a call may start, or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	select {
	case <-l.tick.C:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop releases the Limiter's ticker.
func (l *Limiter) Stop() {
	if l != nil {
		l.tick.Stop()
	}
}
