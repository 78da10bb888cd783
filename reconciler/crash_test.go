package reconciler

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/internal/relay"
	"github.com/hotelpe/boletas/reconciler/internal/worker"
	"github.com/hotelpe/boletas/system/testkit"
)

// A crash right after a batch commits, before the acknowledgement and the relay: the new
// instance gets the message again, finds it in the inbox, and publishes the event once, when
// the dead instance's claim on it (relay.CommittedClaim) has expired.
func TestCrashBetweenCommitAndAck(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	var crashed atomic.Bool
	stop := s.arrancar(func() bool { return crashed.CompareAndSwap(false, true) })
	s.insertarPendiente("BBB1", 105)
	s.publicar(aceptada("BBB1", 105))
	testkit.Eventually(t, 10*time.Second, "the simulated crash", crashed.Load)
	if err := stop(); !errors.Is(err, worker.ErrCrash) {
		t.Fatalf("reconciler ended with %v, want the simulated crash", err)
	}
	// Committed, but neither acknowledged nor published.
	if got := s.estado("BBB1", 105); got != "aceptado" {
		t.Fatalf("after the commit the row is %q", got)
	}
	if n := s.count(`SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("unpublished outbox rows = %d, want 1", n)
	}

	s.cfg.RelayInterval = 100 * time.Millisecond // the sweep that finds the expired claim
	s.arrancar(nil)
	testkit.Eventually(t, 15*time.Second, "the redelivery recorded as duplicate", func() bool {
		return s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'duplicado'`) == 1
	})
	testkit.Eventually(t, relay.CommittedClaim+10*time.Second, "the outbox relayed", func() bool {
		return s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); n != 1 {
		t.Errorf("state changes = %d, want 1", n)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}
}
