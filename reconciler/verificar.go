package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go/jetstream"
)

// errSinConfirmar: NubeFacT has nothing final to say about the comprobante yet (no outcome, or
// not found), so the webhook can be neither confirmed nor refuted now.
var errSinConfirmar = errors.New("NubeFacT cannot confirm the outcome yet")

// verificar confirms each webhook of the batch with NubeFacT's Operation 2 (VERIFY_WEBHOOKS).
// NubeFacT does not sign its webhooks, so a forged one is only caught this way. A webhook whose
// outcome NubeFacT confirms is applied as it is; one its final answer contradicts is marked
// NoConfirmada and NubeFacT's answer is applied instead. One that cannot be checked now
// (NubeFacT unreachable, or with no final answer yet) is handed back for a later retry and left
// out of the batch; once its retry budget is spent it is recorded as a conflict, for ops.
//
// At most VERIFY_CONCURRENCY calls are in flight, and the whole verification is bounded well
// inside the messages' AckWait, which InProgress restarts first.
func (w *worker) verificar(ctx context.Context, msgs []jetstream.Msg, entradas []postgres.Entrada) ([]jetstream.Msg, []postgres.Entrada) {
	for _, m := range msgs {
		_ = m.InProgress()
	}
	vctx, cancel := context.WithTimeout(ctx, max(w.cfg.AckWait-2*time.Second, time.Second))
	defer cancel()
	errs := make([]error, len(entradas))
	sem := make(chan struct{}, w.cfg.VerifyConcurrency)
	var wg sync.WaitGroup
	for i := range entradas {
		if entradas[i].Origen != contracts.OrigenWebhook {
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				errs[i] = w.confirmar(vctx, &entradas[i])
			case <-vctx.Done():
				errs[i] = vctx.Err()
			}
		})
	}
	wg.Wait()
	keptMsgs, kept := msgs[:0], entradas[:0]
	for i := range entradas {
		e := &entradas[i]
		if errs[i] != nil && errors.Is(errs[i], errSinConfirmar) && e.Aparcar {
			e.NoConfirmada = fmt.Sprintf("webhook no confirmado tras %d intentos: %v", e.Intentos, errs[i])
			errs[i] = nil
		}
		if errs[i] != nil {
			w.log.Warn("webhook could not be verified: retrying later", "id", e.MessageID, "err", errs[i])
			_ = msgs[i].NakWithDelay(backoff(e.Intentos, w.cfg.UnknownBackoff, w.cfg.UnknownBackoffMax))
			continue
		}
		keptMsgs, kept = append(keptMsgs, msgs[i]), append(kept, *e)
	}
	return keptMsgs, kept
}

func (w *worker) confirmar(ctx context.Context, e *postgres.Entrada) error {
	n, err := w.nubefact.Consultar(ctx, e.Notificacion.Clave())
	switch {
	case nubefact.NoExiste(err):
		return fmt.Errorf("%w: %v", errSinConfirmar, err)
	case err != nil:
		return err
	case !n.Resultado().Final():
		return fmt.Errorf("%w: NubeFacT reports no final outcome", errSinConfirmar)
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
