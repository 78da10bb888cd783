package stream_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func opciones() stream.Options {
	return stream.Options{Replicas: 1, DuplicateWindow: 2 * time.Minute, MaxAge: time.Hour,
		EventsDuplicateWindow: time.Hour, Consumer: "reconciler", AckWait: 30 * time.Second,
		MaxDeliver: -1, MaxAckPending: 1000, MaxBytes: 64 << 20, DeadLetterMaxAge: 24 * time.Hour}
}

func TestDeclareIsIdempotentAndUpdates(t *testing.T) {
	t.Parallel()
	topo := testkit.Namespace(t)
	_, js := testkit.Connect(t)
	ctx := context.Background()
	if _, err := stream.Declare(ctx, js, topo, opciones()); err != nil {
		t.Fatal(err)
	}
	o := opciones()
	o.DuplicateWindow = 5 * time.Minute
	o.AckWait = 45 * time.Second
	cons, err := stream.Declare(ctx, js, topo, o)
	if err != nil {
		t.Fatalf("second Declare: %v", err)
	}
	st, err := js.Stream(ctx, topo.StreamNotificaciones())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 5*time.Minute || info.Config.Storage != jetstream.FileStorage {
		t.Errorf("stream config not updated: duplicates %v storage %v", info.Config.Duplicates, info.Config.Storage)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Config.AckWait != 45*time.Second || ci.Config.AckPolicy != jetstream.AckExplicitPolicy || ci.Config.Durable != "reconciler" {
		t.Errorf("consumer config: %+v", ci.Config)
	}
	for _, name := range []string{topo.StreamEventos(), topo.StreamDeadLetters()} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	// The limits: nothing grows without bound, and a full stream refuses rather than drops.
	if info.Config.MaxMsgSize != stream.MaxMensaje || info.Config.MaxBytes != o.MaxBytes || info.Config.Discard != jetstream.DiscardNew {
		t.Errorf("notifications limits: max_msg_size %d, max_bytes %d, discard %v; want %d, %d, new",
			info.Config.MaxMsgSize, info.Config.MaxBytes, info.Config.Discard, stream.MaxMensaje, o.MaxBytes)
	}
	dlq, err := js.Stream(ctx, topo.StreamDeadLetters())
	if err != nil {
		t.Fatal(err)
	}
	if di, err := dlq.Info(ctx); err != nil || di.Config.MaxAge != o.DeadLetterMaxAge || di.Config.Discard != jetstream.DiscardNew {
		t.Errorf("dead-letter stream: %+v, %v; want max_age %v and discard new", di.Config, err, o.DeadLetterMaxAge)
	}
}

// sinMetadatos is a message whose metadata cannot be read (not a JetStream delivery).
type sinMetadatos struct {
	jetstream.Msg
	data []byte
}

func (m sinMetadatos) Data() []byte         { return m.data }
func (m sinMetadatos) Subject() string      { return "x" }
func (m sinMetadatos) Headers() nats.Header { return nats.Header{} }
func (m sinMetadatos) Metadata() (*jetstream.MsgMetadata, error) {
	return nil, errors.New("no metadata")
}

// TestDeadLetter: the copy of the same delivery is stored once, and copies of different messages
// without metadata are all stored (no shared ID that would make them duplicates).
func TestSendToDeadLetters(t *testing.T) {
	t.Parallel()
	topo := testkit.Namespace(t)
	_, js := testkit.Connect(t)
	ctx := context.Background()
	cons, err := stream.Declare(ctx, js, topo, opciones())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, topo.SubjectNotificacion(contracts.OrigenWebhook), []byte("no es JSON")); err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m := <-batch.Messages()
	if m == nil {
		t.Fatal("no message fetched")
	}
	for range 2 { // a crash between the copy and the Term repeats the copy
		if err := stream.SendToDeadLetters(ctx, js, topo, m, "undecodable"); err != nil {
			t.Fatal(err)
		}
	}
	for _, body := range []string{"uno", "dos"} {
		if err := stream.SendToDeadLetters(ctx, js, topo, sinMetadatos{data: []byte(body)}, "undecodable"); err != nil {
			t.Fatal(err)
		}
	}
	dlq, err := js.Stream(ctx, topo.StreamDeadLetters())
	if err != nil {
		t.Fatal(err)
	}
	info, err := dlq.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("dead letters stored = %d, want 3 (the delivery once, both messages without metadata)", info.State.Msgs)
	}
}

func TestDeadLettersNewestFirst(t *testing.T) {
	t.Parallel()
	topo := testkit.Namespace(t)
	_, js := testkit.Connect(t)
	ctx := context.Background()
	if _, err := stream.Declare(ctx, js, topo, opciones()); err != nil {
		t.Fatal(err)
	}
	if got, err := stream.DeadLetters(ctx, js, topo, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("empty DLQ: %v, %v", got, err)
	}
	for i := range 3 {
		m := nats.NewMsg(topo.SubjectDeadLetters())
		m.Data = []byte(`{"n":` + strconv.Itoa(i) + `}`)
		m.Header.Set(contracts.CabeceraMotivo, "undecodable "+strconv.Itoa(i))
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := stream.DeadLetters(ctx, js, topo, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Reason != "undecodable 2" || got[1].Reason != "undecodable 1" || string(got[0].Payload) != `{"n":2}` {
		t.Errorf("DeadLetters(2) = %+v, want the last two, newest first", got)
	}
	// The next page: before the last one shown.
	got, err = stream.DeadLetters(ctx, js, topo, got[1].Seq, 2)
	if err != nil || len(got) != 1 || got[0].Reason != "undecodable 0" {
		t.Errorf("DeadLetters(before the 2nd) = %+v, %v; want the first alone", got, err)
	}
}
