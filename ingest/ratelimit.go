package ingest

import (
	"time"

	"golang.org/x/time/rate"
)

// tokenLimits bounds how many webhooks each token may send (WEBHOOK_RATE, WEBHOOK_BURST): one
// token bucket per entry of WEBHOOK_TOKENS, by position, so a leaked token is throttled while
// the others are not. The set of tokens is fixed at start, so nothing grows with the requests.
// A nil tokenLimits (WEBHOOK_RATE 0, the default) limits nothing.
type tokenLimits []*rate.Limiter

func newTokenLimits(tokens int, perSecond float64, burst int) tokenLimits {
	if perSecond <= 0 {
		return nil
	}
	l := make(tokenLimits, tokens)
	for i := range l {
		l[i] = rate.NewLimiter(rate.Limit(perSecond), burst)
	}
	return l
}

// wait takes one webhook from token i's bucket and returns 0, or, when the bucket is empty,
// takes nothing and returns how long until it holds one again (the Retry-After of the 429).
func (l tokenLimits) wait(i int, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	r := l[i].ReserveN(now, 1)
	if !r.OK() {
		return time.Second // a burst below 1, which Config.validate refuses
	}
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now) // a refused webhook must not use up the budget of the next one
	}
	return d
}
