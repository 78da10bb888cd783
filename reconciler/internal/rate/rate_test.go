package rate_test

import (
	"context"
	"errors"
	"testing"
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

// Five calls at 20/s cannot all start in less than four intervals (a lower bound only).
func TestLimiterSpacesCalls(t *testing.T) {
	l := rate.New(20)
	defer l.Stop()
	start := time.Now()
	for range 5 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 4*50*time.Millisecond {
		t.Errorf("5 calls at 20/s started within %v", took)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	l := rate.New(1e-12) // a rate whose interval would overflow: still a limit, not none
	defer l.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}
