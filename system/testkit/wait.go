package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Eventually polls cond every 25 ms until it holds, failing tb when d passes first.
func Eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// StreamMessages is the number of messages stream name holds.
func StreamMessages(tb testing.TB, js jetstream.JetStream, name string) uint64 {
	tb.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		tb.Fatalf("stream %s: %v", name, err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.Msgs
}
