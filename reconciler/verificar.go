package reconciler

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go/jetstream"
)

// verificar confirms each webhook of the batch with NubeFacT's Operation 2 (VERIFY_WEBHOOKS).
// NubeFacT does not sign its webhooks, so a forged one is only caught this way. A webhook whose
// outcome NubeFacT confirms is applied as it is; one it contradicts is marked NoConfirmada and
// NubeFacT's answer is applied instead. One that cannot be checked now (NubeFacT unreachable)
// is handed back for a later retry and left out of the batch.
func (w *worker) verificar(ctx context.Context, msgs []jetstream.Msg, entradas []postgres.Entrada) ([]jetstream.Msg, []postgres.Entrada) {
	errs := make([]error, len(entradas))
	var wg sync.WaitGroup
	for i := range entradas {
		if entradas[i].Origen != contracts.OrigenWebhook {
			continue
		}
		wg.Go(func() { errs[i] = w.confirmar(ctx, &entradas[i]) })
	}
	wg.Wait()
	keptMsgs, kept := msgs[:0], entradas[:0]
	for i := range entradas {
		if errs[i] != nil {
			w.log.Warn("webhook could not be verified: retrying later", "id", entradas[i].MessageID, "err", errs[i])
			_ = msgs[i].NakWithDelay(backoff(entradas[i].Intentos, time.Second, time.Minute))
			continue
		}
		keptMsgs, kept = append(keptMsgs, msgs[i]), append(kept, entradas[i])
	}
	return keptMsgs, kept
}

func (w *worker) confirmar(ctx context.Context, e *postgres.Entrada) error {
	n, err := w.nubefact.Consultar(ctx, e.Notificacion.Clave())
	switch {
	case nubefact.NoExiste(err):
		e.NoConfirmada = "webhook no confirmado: NubeFacT no conoce el comprobante (codigo 24)"
		return nil
	case err != nil:
		return err
	}
	id := contracts.MessageID(n)
	if id == e.MessageID {
		return nil
	}
	n.PDFZipBase64, n.XMLZipBase64, n.CDRZipBase64 = nil, nil, nil
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	e.NoConfirmada = fmt.Sprintf("webhook no confirmado: decía %s, NubeFacT dice %s (%s)", e.Notificacion.Resultado(), n.Resultado(), id)
	e.Confirmacion = &postgres.Entrada{
		MessageID: id, Notificacion: n, Payload: body, Origen: contracts.OrigenVerificacion,
		Recibido: time.Now().UTC(), Remitente: "nubefact:consultar_comprobante", StreamSeq: e.StreamSeq,
		Intentos: e.Intentos, Aparcar: e.Aparcar,
	}
	return nil
}
