package testkit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// pollInterval is how often Poll, Eventually and EventuallyNoError ask again.
const pollInterval = 25 * time.Millisecond

// Poll calls check every 25 ms until it returns nil, for at most d, and returns check's last
// error if d passes first. It is the one polling loop of the tests: a test waits on a condition,
// never on a fixed sleep. Code that may not fail the test (a helper that returns an error, a
// goroutine other than the test's) uses it directly; tests use Eventually or EventuallyNoError.
func Poll(d time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// Eventually polls cond every 25 ms until it holds, failing tb when d passes first.
func Eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	if Poll(d, func() error {
		if !cond() {
			return errNotYet
		}
		return nil
	}) != nil {
		tb.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// EventuallyNoError polls check every 25 ms until it returns nil, failing tb with check's last
// error when d passes first.
func EventuallyNoError(tb testing.TB, d time.Duration, what string, check func() error) {
	tb.Helper()
	if err := Poll(d, check); err != nil {
		tb.Fatalf("timed out after %v waiting for %s: %v", d, what, err)
	}
}

// errNotYet is Eventually's condition not holding yet.
var errNotYet = errors.New("not yet")

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
