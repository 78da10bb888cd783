package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/hotelpe/boletas/ingest/natstest"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/nats-io/nats.go/jetstream"
)

func opciones() stream.Opciones {
	return stream.Opciones{Replicas: 1, DuplicateWindow: 2 * time.Minute, MaxAge: time.Hour,
		EventsDuplicateWindow: time.Hour, Consumer: "reconciler", AckWait: 30 * time.Second,
		MaxDeliver: -1, MaxAckPending: 1000}
}

func TestPrepararEsIdempotenteYActualiza(t *testing.T) {
	t.Parallel()
	topo := natstest.Topologia(t)
	_, js := natstest.Connect(t)
	ctx := context.Background()
	if _, err := stream.Preparar(ctx, js, topo, opciones()); err != nil {
		t.Fatal(err)
	}
	o := opciones()
	o.DuplicateWindow = 5 * time.Minute
	o.AckWait = 45 * time.Second
	cons, err := stream.Preparar(ctx, js, topo, o)
	if err != nil {
		t.Fatalf("second Preparar: %v", err)
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
	for _, name := range []string{topo.StreamEventos(), topo.StreamDLQ()} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}
