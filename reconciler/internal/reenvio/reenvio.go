// Package reenvio publishes aparcadas again (`reconciler replay`, the console's Reenviar), on
// the replay subject of the origin they had, so that the reconciler judges them as it judged
// them the first time (a reenvio of a webhook is verified like a webhook).
package reenvio

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// Store reads the aparcadas and records their reenvio (postgres.Store).
type Store interface {
	AparcadasPorID(ctx context.Context, ids []string) ([]estado.Aparcada, error)
	Aparcadas(ctx context.Context, p estado.PaginaAparcadas) ([]estado.Aparcada, error)
	MarcarReenviadas(ctx context.Context, messageIDs []string) error
}

// Publish publishes a message and waits for the stream to store it (stream.Publish).
type Publish func(ctx context.Context, m contracts.Mensaje) error

// Reenviar publishes aparcadas again, on the replay subject of the origin they had
// (Topologia.Reenvio), so that a webhook published again is confirmed like a webhook: those
// named by ids, or with none every one not published again yet. It returns how many it
// published, calling reenviadas (when not nil) with each page of them. They keep their payload, so the
// reconciler computes the same message ID; the Nats-Msg-Id gets a suffix so that JetStream's
// duplicate window does not swallow a replay of a recent one. It fails, replaying nothing, when
// an id is not parked. All of them are read a page at a time (keyset, estado.TamanoPagina):
// replaying 100,000 holds one page of payloads. `reconciler replay` and the console call it.
func Reenviar(ctx context.Context, store Store, publish Publish, topo contracts.Topologia, ids []string, reenviadas func([]estado.Aparcada)) (int, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	if len(ids) > 0 {
		list, err := store.AparcadasPorID(ctx, ids)
		if err != nil {
			return 0, err
		}
		if len(list) != len(ids) {
			return 0, fmt.Errorf("replay: %d of the %d message IDs are not parked", len(ids)-len(list), len(ids))
		}
		return reenviarPagina(ctx, store, publish, topo, stamp, list, reenviadas)
	}
	total := 0
	var despues estado.CursorAparcada
	for {
		list, err := store.Aparcadas(ctx, estado.PaginaAparcadas{Despues: despues, Limit: estado.TamanoPagina, Payload: true})
		if err != nil || len(list) == 0 {
			return total, err
		}
		// A replay whose comprobante is still missing is parked again, in the same row and
		// place: the cursor moves past it, so each is replayed once.
		despues = list[len(list)-1].Cursor()
		n, err := reenviarPagina(ctx, store, publish, topo, stamp, list, reenviadas)
		total += n
		if err != nil {
			return total, err
		}
	}
}

// reenviarPagina publishes list and marks what it published as replayed, in one statement.
func reenviarPagina(ctx context.Context, store Store, publish Publish, topo contracts.Topologia, stamp string, list []estado.Aparcada, reenviadas func([]estado.Aparcada)) (int, error) {
	var perr error
	n := 0
	for _, a := range list {
		remitente := ""
		if a.Remitente != nil {
			remitente = *a.Remitente
		}
		m := topo.Reenvio([]byte(a.Payload), a.MessageID+".replay."+stamp, a.Origen, a.RecibidoEn, remitente)
		if err := publish(ctx, m); err != nil {
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
	if reenviadas != nil {
		reenviadas(list[:n])
	}
	return n, perr
}
