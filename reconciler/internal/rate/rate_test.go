package rate_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotelpe/boletas/reconciler/internal/rate"
)

func TestNilLimiterDoesNotLimit(t *testing.T) {
	for _, perSecond := range []float64{0, -1, 1e300} {
		l := rate.New(perSecond)
		if l != nil {
			t.Fatalf("New(%v) limits", perSecond)
		}
		for range 1000 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		l.Stop()
	}
}

// At 20/s each call starts one interval, 50 ms, after the one before: in the bubble the clock
// moves only when every goroutine waits, so the spacing is exact.
func TestLimiterSpacesCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := rate.New(20)
		defer l.Stop()
		prev := time.Now()
		for i := range 5 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			if gap := time.Since(prev); gap != 50*time.Millisecond {
				t.Errorf("call %d started %v after the one before, want 50ms", i+1, gap)
			}
			prev = time.Now()
		}
	})
}

// A caller slower than the rate is not held back further, and is not owed a burst either: the
// ticker keeps one tick, so after a long pause one call goes at once and the next waits.
func TestLimiterAfterAPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := rate.New(20)
		defer l.Stop()
		time.Sleep(time.Second)
		start := time.Now()
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the first call after a pause waited %v, want none", took)
		}
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("the second call after a pause started %v after the first, want 50ms", took)
		}
	})
}

func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := rate.New(1e-12) // a rate whose interval would overflow: still a limit, not none
		defer l.Stop()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait = %v, want context.Canceled", err)
		}
		// A deadline ends a wait that no tick would end for centuries.
		ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Hour {
			t.Errorf("Wait = %v after %v, want context.DeadlineExceeded after 1h", err, time.Since(start))
		}
	})
}
