package reconciler

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestOverTheCapGoesToDeadLetters: with PARKED_MAX 3, the 4th notification for an unknown
// comprobante is dead-lettered with its reason, not parked, and the worker goes on applying the
// others.
func TestOverTheCapGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	s.cfg.ParkedMax = 3
	s.arrancar(nil)
	for numero := 1; numero <= 3; numero++ {
		s.publicar(aceptada("BDES", numero))
		// One at a time: each is its own batch, so the cap is met exactly.
		testkit.Eventually(t, 10*time.Second, fmt.Sprintf("notification %d parked", numero), func() bool {
			return s.count(`SELECT count(*) FROM aparcadas`) == numero
		})
	}
	s.publicar(aceptada("BDES", 4))
	testkit.Eventually(t, 10*time.Second, "the 4th in the DLQ", func() bool {
		return testkit.StreamMessages(t, s.js, s.topo.StreamDeadLetters()) == 1
	})
	deadLetters, err := stream.DeadLetters(context.Background(), s.js, s.topo, 0, 10)
	if err != nil || len(deadLetters) != 1 {
		t.Fatalf("dead letters %+v, %v; want one", deadLetters, err)
	}
	if m := deadLetters[0].Reason; !strings.Contains(m, "PARKED_MAX") || !strings.Contains(string(deadLetters[0].Payload), `"numero":4`) {
		t.Errorf("dead letter %q with %s, want the 4th with PARKED_MAX in its reason", m, deadLetters[0].Payload)
	}
	if n := s.count(`SELECT count(*) FROM aparcadas WHERE numero = 4`); n != 0 {
		t.Error("the 4th was parked")
	}
	// The worker goes on: a known comprobante is applied.
	s.insertarPendiente("BDES", 5)
	s.publicar(aceptada("BDES", 5))
	testkit.Eventually(t, 10*time.Second, "the known one applied", func() bool { return s.estado("BDES", 5) == "aceptado" })
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE numero = 4`); n != 0 {
		t.Errorf("the dead-lettered one has %d audit rows, want none (the dead letter is its record)", n)
	}
}
