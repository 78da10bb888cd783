package estado

import (
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// Recibida is a notification received to apply, with what the audit records about it.
type Recibida struct {
	MessageID    string
	Notificacion contracts.Notificacion
	Payload      []byte
	Origen       string
	Recibido     time.Time
	Remitente    string
	StreamSeq    uint64
	Intentos     int
	// Reenvio: this is a replay (reconciler replay, the console's Reenviar) of a notification
	// of Origen.
	Reenvio bool
	// Nota, when set, is added to the audit's motivo ("confirmado por NubeFacT").
	Nota string
	// PorVerificar: a webhook to confirm (VERIFY_WEBHOOKS) that was not, because its comprobante
	// was not in the table when the batch was checked. Should the comprobante be there by the
	// time the batch locks its rows (inserted in between), it is parked, ready, and confirmed
	// from there, rather than applied on the webhook's word.
	PorVerificar bool
	// Reemplazo, when set, says that NubeFacT's answer stands in for this webhook
	// (VERIFY_WEBHOOKS): the webhook itself is only recorded.
	Reemplazo *Reemplazo
	// AparcadaEn is set when the notification waited for its comprobante: when it was parked.
	AparcadaEn time.Time
}

// Reemplazo is what verifying a webhook with NubeFacT decided against it.
type Reemplazo struct {
	// Efecto records the webhook: Conflicto (NubeFacT reports another outcome or hash, or none)
	// or Corregido (same outcome and hash, other links or texts).
	Efecto Efecto
	Motivo string
	// Respuesta is NubeFacT's answer, applied in the webhook's place; nil when there is none.
	Respuesta *Recibida
}

// Veredicto is what applying a Recibida did.
type Veredicto struct {
	Efecto   Efecto
	Anterior Estado
	Nuevo    Estado
	Motivo   string
	EventID  string // set when an event was written: Efecto Aplicado or Completado
}

// Paso is one notification to judge, in order: a Recibida, NubeFacT's answer standing in for a
// webhook, or the replaced webhook itself (only recorded).
type Paso struct {
	Recibida *Recibida
	Indice   int  // index of the Recibida whose Veredicto this step gives
	Informa  bool // this step's veredicto is the Recibida's
	// Registro: the replaced webhook, recorded in the audit and never applied. Its message ID
	// stays out of the inbox, so that it never stands in the way of a genuine notification.
	Registro bool
}

// Pasos expands recibidas into the steps to judge: each one as it is, or, for a webhook
// NubeFacT's answer replaces, the answer first (its veredicto is the webhook's) and then the
// webhook, to record.
func Pasos(recibidas []Recibida) []Paso {
	pasos := make([]Paso, 0, len(recibidas))
	for i := range recibidas {
		r := &recibidas[i]
		if r.Reemplazo == nil {
			pasos = append(pasos, Paso{Recibida: r, Indice: i, Informa: true})
			continue
		}
		if resp := r.Reemplazo.Respuesta; resp != nil {
			pasos = append(pasos, Paso{Recibida: resp, Indice: i, Informa: true})
		}
		pasos = append(pasos, Paso{Recibida: r, Indice: i, Registro: true, Informa: r.Reemplazo.Respuesta == nil})
	}
	return pasos
}

// Registro is one row the audit receives: what was done, to a notification of which origin.
type Registro struct {
	Efecto Efecto
	Origen string
}

// Registros lists the audit rows that judging recibidas as veredictos writes, one per step of
// Pasos: NubeFacT's answer standing in for a webhook and the webhook itself are two.
func Registros(recibidas []Recibida, veredictos []Veredicto) []Registro {
	pasos := Pasos(recibidas)
	out := make([]Registro, 0, len(pasos))
	for _, p := range pasos {
		e := veredictos[p.Indice].Efecto
		if p.Registro {
			e = p.Recibida.Reemplazo.Efecto
		}
		out = append(out, Registro{Efecto: e, Origen: p.Recibida.Origen})
	}
	return out
}
