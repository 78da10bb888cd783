package reconciler

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/nats-io/nats.go/jetstream"
)

// Reenviar publishes parked notifications again (replay), on the replay subject of the origin
// they had (Topologia.Reenvio), so that a replayed webhook is confirmed like a webhook: those
// named by ids, or with none every one not replayed yet. It returns how many it replayed,
// calling replayed (when not nil) with each page of them. They keep their payload, so the
// reconciler computes the same message ID; the Nats-Msg-Id gets a suffix so that JetStream's
// duplicate window does not swallow a replay of a recent one. It fails, replaying nothing, when
// an id is not parked. All of them are read a page at a time (keyset, postgres.TamanoPagina):
// replaying 100,000 holds one page of payloads. `reconciler replay` and the console call it.
func Reenviar(ctx context.Context, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, ids []string, replayed func([]postgres.Aparcada)) (int, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	if len(ids) > 0 {
		list, err := store.AparcadasPorID(ctx, ids)
		if err != nil {
			return 0, err
		}
		if len(list) != len(ids) {
			return 0, fmt.Errorf("replay: %d of the %d message IDs are not parked", len(ids)-len(list), len(ids))
		}
		return reenviarPagina(ctx, store, js, topo, stamp, list, replayed)
	}
	total := 0
	var despues postgres.CursorAparcada
	for {
		list, err := store.Aparcadas(ctx, postgres.PaginaAparcadas{Despues: despues, Limit: postgres.TamanoPagina, Payload: true})
		if err != nil || len(list) == 0 {
			return total, err
		}
		// A replay whose comprobante is still missing is parked again, in the same row and
		// place: the cursor moves past it, so each is replayed once.
		despues = list[len(list)-1].Cursor()
		n, err := reenviarPagina(ctx, store, js, topo, stamp, list, replayed)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// reenviarPagina publishes list and marks what it published as replayed, in one statement.
func reenviarPagina(ctx context.Context, store *postgres.Store, js jetstream.JetStream, topo contracts.Topologia, stamp string, list []postgres.Aparcada, replayed func([]postgres.Aparcada)) (int, error) {
	var perr error
	n := 0
	for _, a := range list {
		remitente := ""
		if a.Remitente != nil {
			remitente = *a.Remitente
		}
		m := topo.Reenvio([]byte(a.Payload), a.MessageID+".replay."+stamp, a.Origen, a.RecibidoEn, remitente)
		if err := stream.Publish(ctx, js, m); err != nil {
			perr = fmt.Errorf("replay %s: %w", a.MessageID, err)
			break
		}
		n++
	}
	if n == 0 {
		return 0, perr
	}
	ids := make([]string, n)
	for i, a := range list[:n] {
		ids[i] = a.MessageID
	}
	if err := store.MarcarReenviadas(ctx, ids); err != nil {
		return n, err
	}
	if replayed != nil {
		replayed(list[:n])
	}
	return n, perr
}
