// Package verificacion confirms webhooks with NubeFacT's Operation 2 before they are applied
// (VERIFY_WEBHOOKS). NubeFacT does not sign its webhooks, so a forged one is only caught this
// way. "Webhook" here is every notification whose origin is not proven (contracts.Probado): a
// webhook, a reenvio of one (a forged webhook parked, then published again, is still forged), a
// message of unknown origin. Only NubeFacT's answers to our own calls (regularizacion,
// verificacion) skip it. What is stored is NubeFacT's answer, never the webhook's word:
//   - same outcome, hash, links and texts: the webhook is applied as it is;
//   - same outcome and hash, other links or texts: NubeFacT's answer is applied, and the webhook
//     recorded as corregido with the fields that differed (a forged CDR link ends here);
//   - another outcome or hash: NubeFacT's answer is applied, the webhook recorded as a conflict.
//
// The worker verifies the webhooks of its batches, the aparcadas job those whose comprobante
// has just been inserted; both before their transaction opens.
package verificacion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/rate"
)

// Consultor asks NubeFacT about one comprobante (nubefact.Client). An error whose NoExiste()
// is true means NubeFacT does not know it (yet).
type Consultor interface {
	Consultar(ctx context.Context, c contracts.Clave) (contracts.Notificacion, error)
}

// Verificador confirms webhooks, at most Concurrency calls in flight and Rate started per second.
type Verificador struct {
	Consultor   Consultor
	Rate        *rate.Limiter
	Concurrency int
	// Intentos is VERIFY_RETRIES: the deliveries of a webhook NubeFacT cannot confirm yet
	// before it is recorded as a conflict.
	Intentos int
	Log      *slog.Logger
}

// ErrSinConfirmar: NubeFacT has nothing final to say about the comprobante yet (no outcome, or
// not found), so the webhook can be neither confirmed nor refuted now.
var ErrSinConfirmar = errors.New("NubeFacT cannot confirm the outcome yet")

// Aparcadas verifies the aparcadas about to be applied now that their comprobante exists, and
// returns the message IDs that must keep waiting: NubeFacT could not be asked, or has no final
// answer yet and the budget is not spent.
func (v *Verificador) Aparcadas(ctx context.Context, recibidas []estado.Recibida) (esperar []string) {
	errs := v.Confirmar(ctx, recibidas, func(*estado.Recibida) bool { return true })
	for i := range recibidas {
		e := &recibidas[i]
		if errs[i] != nil && !v.NoConfirmado(e, errs[i]) {
			v.Log.Warn("aparcada webhook could not be verified: it keeps waiting", "id", e.MessageID, "err", errs[i])
			esperar = append(esperar, e.MessageID)
		}
	}
	return esperar
}

// NoConfirmado turns a webhook NubeFacT still cannot confirm after Intentos deliveries into a
// conflict to record, and reports whether it did.
func (v *Verificador) NoConfirmado(e *estado.Recibida, err error) bool {
	if !errors.Is(err, ErrSinConfirmar) || e.Intentos < v.Intentos {
		return false
	}
	e.Reemplazo = &estado.Reemplazo{Efecto: estado.Conflicto,
		Motivo: fmt.Sprintf("webhook no confirmado tras %d intentos: %v", e.Intentos, err)}
	return true
}

// Confirmar confirms, concurrently and under Rate, the webhooks among recibidas that have a
// final outcome and for which debe holds, and returns the error of each (nil when it was
// confirmed, replaced, or needs no confirmation).
func (v *Verificador) Confirmar(ctx context.Context, recibidas []estado.Recibida, debe func(*estado.Recibida) bool) []error {
	errs := make([]error, len(recibidas))
	sem := make(chan struct{}, v.Concurrency)
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
			if errs[i] = v.Rate.Wait(ctx); errs[i] == nil {
				errs[i] = v.confirmar(ctx, e)
			}
		})
	}
	wg.Wait()
	return errs
}

func (v *Verificador) confirmar(ctx context.Context, e *estado.Recibida) error {
	n, err := v.Consultor.Consultar(ctx, e.Notificacion.Clave())
	var noExiste interface{ NoExiste() bool }
	switch {
	case errors.As(err, &noExiste) && noExiste.NoExiste():
		return fmt.Errorf("%w: %v", ErrSinConfirmar, err)
	case err != nil:
		return err
	case !n.Resultado().Final():
		return fmt.Errorf("%w: NubeFacT reports no final outcome", ErrSinConfirmar)
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
	nombres := contracts.TodosLosCampos.Nombres()
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
