package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/retry"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/nats-io/nats.go/jetstream"
)

// errSinConfirmar: NubeFacT has nothing final to say about the comprobante yet (no outcome, or
// not found), so the webhook can be neither confirmed nor refuted now.
var errSinConfirmar = errors.New("NubeFacT cannot confirm the outcome yet")

// verificar confirms each webhook of the batch with NubeFacT's Operation 2 (VERIFY_WEBHOOKS).
// NubeFacT does not sign its webhooks, so a forged one is only caught this way. "Webhook" here is
// every notification whose origin is not proven (contracts.Probado): a webhook, a replay of one
// (a forged webhook parked, then replayed, is still forged), a message of unknown origin. Only
// NubeFacT's answers to our own calls (regularization, verification) skip it. What is stored is
// NubeFacT's answer, never the webhook's word:
//   - same outcome, hash, links and texts: the webhook is applied as it is;
//   - same outcome and hash, other links or texts: NubeFacT's answer is applied, and the webhook
//     recorded as corregido with the fields that differed (a forged CDR link ends here);
//   - another outcome or hash: NubeFacT's answer is applied, the webhook recorded as a conflict.
//
// Only webhooks with a final outcome for comprobantes in the table are verified here: the others
// change nothing now (no outcome) or are parked, and a parked webhook is verified when its
// comprobante arrives (prepararAparcadas), so that notifications for comprobantes that are not
// ours never spend NubeFacT calls nor wait in the consumer. A webhook that cannot be checked now
// (NubeFacT unreachable, or with no final answer yet) is handed back for a later retry and left
// out of the batch; after VERIFY_RETRIES deliveries without a final answer it is recorded as a
// conflict, for ops.
//
// At most VERIFY_CONCURRENCY calls are in flight and VERIFY_RATE start per second; the whole
// verification is bounded well inside the messages' AckWait, which InProgress restarts before
// and after.
func (w *worker) verificar(ctx context.Context, msgs []jetstream.Msg, recibidas []estado.Recibida) ([]jetstream.Msg, []estado.Recibida) {
	for _, m := range msgs {
		_ = m.InProgress()
	}
	claves := make([]contracts.Clave, len(recibidas))
	for i := range recibidas {
		claves[i] = recibidas[i].Notificacion.Clave()
	}
	existen, err := w.store.Existentes(ctx, claves)
	if err != nil {
		existen = nil // verify them all: Aplicar will find out what Postgres has to say
	}
	vctx, cancel := context.WithTimeout(ctx, max(w.cfg.AckWait-2*time.Second, time.Second))
	defer cancel()
	errs := w.confirmarTodas(vctx, recibidas, func(e *estado.Recibida) bool {
		if existen == nil || existen[e.Notificacion.Clave()] {
			return true
		}
		e.PorVerificar = true // parked unconfirmed, unless its comprobante appears meanwhile
		return false
	})
	keptMsgs, kept := msgs[:0], recibidas[:0]
	for i := range recibidas {
		e := &recibidas[i]
		if errs[i] != nil && !w.registrarNoConfirmado(e, errs[i]) {
			w.log.Warn("webhook could not be verified: retrying later", "id", e.MessageID, "err", errs[i])
			_ = msgs[i].NakWithDelay(retry.Backoff(e.Intentos, time.Second, 30*time.Second))
			continue
		}
		_ = msgs[i].InProgress() // the verification may have used most of AckWait: time to apply
		keptMsgs, kept = append(keptMsgs, msgs[i]), append(kept, *e)
	}
	return keptMsgs, kept
}

// prepararAparcadas verifies the parked webhooks about to be applied now that their comprobante
// exists (AplicarListas calls it). It returns the message IDs that must keep waiting: NubeFacT
// could not be asked, or has no final answer yet and the budget is not spent.
func (w *worker) prepararAparcadas(ctx context.Context, recibidas []estado.Recibida) map[string]bool {
	errs := w.confirmarTodas(ctx, recibidas, func(*estado.Recibida) bool { return true })
	esperar := map[string]bool{}
	for i := range recibidas {
		e := &recibidas[i]
		if errs[i] != nil && !w.registrarNoConfirmado(e, errs[i]) {
			w.log.Warn("parked webhook could not be verified: it keeps waiting", "id", e.MessageID, "err", errs[i])
			esperar[e.MessageID] = true
		}
	}
	return esperar
}

// registrarNoConfirmado turns a webhook NubeFacT still cannot confirm after VERIFY_RETRIES
// attempts into a conflict to record, and reports whether it did.
func (w *worker) registrarNoConfirmado(e *estado.Recibida, err error) bool {
	if !errors.Is(err, errSinConfirmar) || e.Intentos < w.cfg.VerifyRetries {
		return false
	}
	e.Reemplazo = &estado.Reemplazo{Efecto: estado.Conflicto,
		Motivo: fmt.Sprintf("webhook no confirmado tras %d intentos: %v", e.Intentos, err)}
	return true
}

// confirmarTodas confirms, concurrently and under VERIFY_RATE, the webhooks among recibidas that
// have a final outcome and for which debe holds, and returns the error of each (nil when it
// was confirmed, replaced, or needs no confirmation).
func (w *worker) confirmarTodas(ctx context.Context, recibidas []estado.Recibida, debe func(*estado.Recibida) bool) []error {
	errs := make([]error, len(recibidas))
	sem := make(chan struct{}, w.cfg.VerifyConcurrency)
	var wg sync.WaitGroup
	for i := range recibidas {
		e := &recibidas[i]
		if contracts.Probado(e.Origen) || !e.Notificacion.Resultado().Final() || !debe(e) {
			continue
		}
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			if errs[i] = w.rate.Wait(ctx); errs[i] == nil {
				errs[i] = w.confirmar(ctx, e)
			}
		})
	}
	wg.Wait()
	return errs
}

func (w *worker) confirmar(ctx context.Context, e *estado.Recibida) error {
	n, err := w.nubefact.Consultar(ctx, e.Notificacion.Clave())
	switch {
	case nubefact.NoExiste(err):
		return fmt.Errorf("%w: %v", errSinConfirmar, err)
	case err != nil:
		return err
	case !n.Resultado().Final():
		return fmt.Errorf("%w: NubeFacT reports no final outcome", errSinConfirmar)
	}
	webhook := &e.Notificacion
	mismoResultado := n.Resultado() == webhook.Resultado() && deref(n.CodigoHash) == deref(webhook.CodigoHash)
	difieren := diferencias(webhook, &n)
	if mismoResultado && len(difieren) == 0 {
		e.Nota = strings.TrimPrefix(e.Nota+"; confirmado por NubeFacT", "; ")
		return nil
	}
	respuesta, err := respuestaNubefact(n, e)
	if err != nil {
		return err
	}
	if mismoResultado {
		e.Reemplazo = &estado.Reemplazo{Efecto: estado.Corregido, Respuesta: respuesta,
			Motivo: "NubeFacT confirma el resultado, pero su respuesta, aplicada en lugar del webhook, difiere en: " + strings.Join(difieren, "; ")}
		return nil
	}
	e.Reemplazo = &estado.Reemplazo{Efecto: estado.Conflicto, Respuesta: respuesta,
		Motivo: fmt.Sprintf("webhook no confirmado: decía %s, NubeFacT dice %s (%s)", webhook.Resultado(), n.Resultado(), respuesta.MessageID)}
	return nil
}

// respuestaNubefact is NubeFacT's answer as an entrada of its own, applied in the webhook's
// place. The zipped documents can be megabytes and are never stored.
func respuestaNubefact(n contracts.Notificacion, webhook *estado.Recibida) (*estado.Recibida, error) {
	n, body, err := contracts.RespuestaNubefact(n)
	if err != nil {
		return nil, err
	}
	return &estado.Recibida{
		MessageID: contracts.MessageID(n), Notificacion: n, Payload: body, Origen: contracts.OrigenVerificacion,
		Recibido: time.Now().UTC(), Remitente: contracts.RemitenteNubefact, StreamSeq: webhook.StreamSeq,
		Intentos: webhook.Intentos,
	}, nil
}

// diferencias lists the stored fields (links, texts, response code) where the webhook and
// NubeFacT's answer differ, each with both values (cut to 200 bytes), for the audit. Null and
// "" are the same: no document yet.
func diferencias(webhook, nubefact *contracts.Notificacion) []string {
	a, b := webhook.Valores(), nubefact.Valores()
	nombres := (contracts.Campos(1<<len(a)) - 1).Nombres()
	var out []string
	for i := range a {
		if deref(a[i]) != deref(b[i]) {
			out = append(out, fmt.Sprintf("%s (webhook %q, NubeFacT %q)", nombres[i], truncate(deref(a[i]), 200), truncate(deref(b[i]), 200)))
		}
	}
	if deref(webhook.SunatResponsecode) != deref(nubefact.SunatResponsecode) {
		out = append(out, fmt.Sprintf("sunat_responsecode (webhook %q, NubeFacT %q)", deref(webhook.SunatResponsecode), deref(nubefact.SunatResponsecode)))
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
