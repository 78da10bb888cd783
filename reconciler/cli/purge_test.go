package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPurgeApplied: purge-applied removes the notifications the consumer acknowledged, up to
// its ack floor, and nothing else; run again, it has nothing to do.
func TestPurgeApplied(t *testing.T) {
	t.Parallel()
	topo := testkit.Namespace(t)
	_, js := testkit.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := stream.Declare(ctx, js, topo, stream.Options{Replicas: 1, DuplicateWindow: time.Minute, Consumer: "reconciler",
		AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: 100, MaxBytes: 1 << 20, DeadLetterMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, topo.SubjectNotificacion(contracts.OrigenWebhook), fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	// The reconciler acknowledges 1, 2, 3 and 5; 4 is still being applied.
	batch, err := cons.Fetch(5, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		md, _ := m.Metadata()
		if md.Sequence.Stream == 4 {
			continue
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}

	cfg := reconciler.Config{NATSURL: testkit.NATSURL(t), NATSPrefix: topo.Prefijo, Consumer: "reconciler"}
	var out, errOut bytes.Buffer
	if err := Ejecutar(ctx, cfg, []string{"purge-applied"}, &out, &errOut); err != nil {
		t.Fatalf("purge-applied: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"purged 3 acknowledged notification(s)", "sequences 1 to 3", "now holds 2 notification(s)", "of 1.0 MiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out.String())
		}
	}
	s, err := js.Stream(ctx, topo.StreamNotificaciones())
	if err != nil {
		t.Fatal(err)
	}
	if st := s.CachedInfo().State; st.Msgs != 2 || st.FirstSeq != 4 {
		t.Errorf("stream holds %d messages from %d, want 2 from 4 (the unacknowledged one kept)", st.Msgs, st.FirstSeq)
	}

	out.Reset()
	if err := Ejecutar(ctx, cfg, []string{"purge-applied"}, &out, &errOut); err != nil {
		t.Fatalf("purge-applied again: %v", err)
	}
	if !strings.Contains(out.String(), "nothing to purge") {
		t.Errorf("second run:\n%s\nwant nothing to purge", out.String())
	}
}
