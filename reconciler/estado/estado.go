// Package estado is the reconciler's domain: what a notification does to a comprobante (Decidir,
// a pure function of the comprobante's current state and the notification's outcome, so every
// rule is a row in a table test), SUNAT's deadline bands, and the records the store reads back
// for the jobs, the console and the command line (registros.go, aparcada.go). No I/O.
package estado

import (
	"strings"

	"github.com/hotelpe/boletas/contracts"
)

// Estado is the state of a comprobante in the billing system's table.
type Estado string

const (
	Pendiente Estado = "pendiente"
	Aceptado  Estado = "aceptado"
	Rechazado Estado = "rechazado"
	Anulado   Estado = "anulado"
)

// Final reports whether SUNAT has decided: aceptado, rechazado or anulado.
func (e Estado) Final() bool { return e != Pendiente }

// Efecto is what processing a notification did; the audit records one per notification.
type Efecto string

const (
	// Aplicado: the comprobante moved to a new state and an event was emitted.
	Aplicado Efecto = "aplicado"
	// SinResultado: the notification carries no final outcome (e.g. code 0100–1999).
	SinResultado Efecto = "sin_resultado"
	// Repetido: it repeats the current final state (same codigo_hash).
	Repetido Efecto = "repetido"
	// Superado: it reports an earlier state the comprobante has already left (aceptado after
	// anulado, with the same codigo_hash): stale, not contradictory.
	Superado Efecto = "superado"
	// Conflicto: it contradicts the final state (another codigo_hash, aceptado after rechazado).
	// Nothing is applied; ops must look.
	Conflicto Efecto = "conflicto"
	// Duplicado: its message ID was processed before (the inbox).
	Duplicado Efecto = "duplicado"
	// Completado: it repeats the current final state with the same codigo_hash and brings a link
	// or text the comprobante still lacks; that is filled in (never overwriting a stored value)
	// and subscribers hear of it on <tipo>.actualizada.
	Completado Efecto = "completado"
	// Corregido: a webhook NubeFacT confirmed (VERIFY_WEBHOOKS) but whose links or texts differ
	// from NubeFacT's answer; the answer is applied in its place and the webhook recorded.
	Corregido Efecto = "corregido"
	// Aparcado: the comprobante is not in the table (yet); the notification waits in Postgres
	// and is applied as soon as the billing system inserts it.
	Aparcado Efecto = "aparcado"
	// Descartado: ops (or the retention limit) discarded a parked notification that would never
	// match a comprobante.
	Descartado Efecto = "descartado"
	// SinEspacio: the comprobante is not in the table and PARKED_MAX notifications already
	// wait for theirs, so this one is not parked: it goes to the dead-letter stream with its
	// reason. The audit does not record it (Efectos leaves it out): the dead letter is its record.
	SinEspacio Efecto = "sin_espacio"
)

// Efectos lists every Efecto, for those who count them.
var Efectos = []Efecto{Aplicado, SinResultado, Repetido, Superado, Conflicto, Duplicado, Completado, Corregido, Aparcado, Descartado}

// Actual is what the decision needs to know of the stored comprobante.
type Actual struct {
	Estado     Estado
	CodigoHash string
	// Vacios are the links and texts the comprobante does not hold yet.
	Vacios contracts.Campos
}

// Entrante is what the decision needs to know of the notification.
type Entrante struct {
	Resultado  contracts.Resultado
	CodigoHash string
	// Campos are the links and texts it brings.
	Campos contracts.Campos
}

// Decision is the verdict on one notification.
type Decision struct {
	Efecto Efecto
	Nuevo  Estado // the state after the decision (the current one unless Aplicado)
	Motivo string // why, in words, for the audit
	// Completar, when Efecto is Completado, are the fields to fill in.
	Completar contracts.Campos
}

// Decidir applies the state machine
//
//	pendiente → aceptado | rechazado | anulado
//	aceptado  → anulado
//
// to a notification. Once the comprobante has a stored codigo_hash, a notification whose hash is
// missing or different never changes it (a conflict: a forged or mistaken notification must not
// void an accepted boleta); only pendiente → final may happen without a stored hash. A
// notification that repeats the final state with the same hash and brings links or texts the
// comprobante lacks completes it. Everything else changes nothing: a notification without a
// final outcome, a plain repeat, and one that contradicts the state (recorded as a conflict).
func Decidir(actual Actual, n Entrante) Decision {
	keep := func(e Efecto, motivo string) Decision {
		return Decision{Efecto: e, Nuevo: actual.Estado, Motivo: motivo}
	}
	if !n.Resultado.Final() {
		return keep(SinResultado, "la notificación no trae un resultado final de SUNAT")
	}
	nuevo := Estado(n.Resultado)
	switch {
	case actual.CodigoHash != "" && n.CodigoHash == "":
		return keep(Conflicto, string(nuevo)+" sin codigo_hash, pero el comprobante ya tiene uno")
	case actual.CodigoHash != "" && n.CodigoHash != actual.CodigoHash:
		return keep(Conflicto, string(nuevo)+" con otro codigo_hash; está "+string(actual.Estado))
	case actual.Estado == Pendiente:
		return Decision{Efecto: Aplicado, Nuevo: nuevo, Motivo: "pendiente → " + string(nuevo)}
	case actual.CodigoHash == "" && actual.Estado == nuevo:
		return keep(Repetido, "ya está "+string(nuevo)+" (sin codigo_hash guardado: no se completa nada)")
	case actual.CodigoHash == "":
		return keep(Conflicto, string(nuevo)+" sin codigo_hash guardado: solo pendiente → final puede aplicarse así; está "+string(actual.Estado))
	// From here on the hashes are equal.
	case actual.Estado == nuevo && n.Campos&actual.Vacios != 0:
		d := keep(Completado, "ya está "+string(nuevo)+"; completa "+strings.Join((n.Campos&actual.Vacios).Nombres(), ", "))
		d.Completar = n.Campos & actual.Vacios
		return d
	case actual.Estado == nuevo:
		return keep(Repetido, "ya está "+string(nuevo))
	case actual.Estado == Aceptado && nuevo == Anulado:
		return Decision{Efecto: Aplicado, Nuevo: Anulado, Motivo: "aceptado → anulado"}
	case actual.Estado == Anulado && nuevo == Aceptado:
		return keep(Superado, "ya fue anulado después de aceptado")
	}
	return keep(Conflicto, string(nuevo)+" contradice el estado final "+string(actual.Estado))
}
