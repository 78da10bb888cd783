package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/nats-io/nats.go/jetstream"
)

// Reenviar publishes parked notifications again (replay), on the replay subject of the origin
// they had (Topologia.Reenvio), so that a replayed webhook is confirmed like a webhook: those
// named by ids, or with none every one not replayed yet, and returns them. They keep their
// payload, so the reconciler computes the same message ID; the Nats-Msg-Id gets a suffix so
// that JetStream's duplicate window does not swallow a replay of a recent one. It fails,
// replaying nothing, when an id is not parked. `reconciler replay` and the console call it.
func Reenviar(ctx context.Context, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, ids []string) ([]postgres.Aparcada, error) {
	list, err := store.Aparcadas(ctx, len(ids) > 0)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		list = slices.DeleteFunc(list, func(a postgres.Aparcada) bool { return !slices.Contains(ids, a.MessageID) })
		if len(list) != len(ids) {
			return nil, fmt.Errorf("replay: %d of the %d message IDs are not parked", len(ids)-len(list), len(ids))
		}
	}
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i, a := range list {
		remitente := ""
		if a.Remitente != nil {
			remitente = *a.Remitente
		}
		m := topo.Reenvio([]byte(a.Payload), a.MessageID+".replay."+stamp, a.Origen, a.RecibidoEn, remitente)
		if err := stream.Publish(ctx, js, m); err != nil {
			return list[:i], fmt.Errorf("replay %s: %w", a.MessageID, err)
		}
		if err := store.MarcarReenviada(ctx, a.MessageID); err != nil {
			return list[:i+1], err
		}
	}
	return list, nil
}
