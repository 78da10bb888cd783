// Package estado is the reconciler's domain: what a notification does to a comprobante. It is a
// pure function of the comprobante's current state and the notification's outcome, with no I/O,
// so every rule is a row in a table test.
package estado

import "github.com/hotelpe/boletas/contracts"

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
	// Desconocido: the comprobante is not in the table (yet); the notification is retried.
	Desconocido Efecto = "desconocido"
	// Aparcado: still unknown after its retry budget; parked for ops to replay.
	Aparcado Efecto = "aparcado"
)

// Actual is what the decision needs to know of the stored comprobante.
type Actual struct {
	Estado     Estado
	CodigoHash string
}

// Decision is the verdict on one notification.
type Decision struct {
	Efecto Efecto
	Nuevo  Estado // the state after the decision (the current one unless Aplicado)
	Motivo string // why, in words, for the audit
}

// Decidir applies the state machine
//
//	pendiente → aceptado | rechazado | anulado
//	aceptado  → anulado
//
// to a notification with outcome r and codigo_hash hash. Everything else changes nothing: a
// notification without a final outcome, one that repeats the current state, and one that
// contradicts it (recorded as a conflict).
func Decidir(actual Actual, r contracts.Resultado, hash string) Decision {
	keep := func(e Efecto, motivo string) Decision {
		return Decision{Efecto: e, Nuevo: actual.Estado, Motivo: motivo}
	}
	if !r.Final() {
		return keep(SinResultado, "la notificación no trae un resultado final de SUNAT")
	}
	nuevo := Estado(r)
	sameHash := actual.CodigoHash == "" || hash == "" || actual.CodigoHash == hash
	switch {
	case actual.Estado == Pendiente:
		return Decision{Efecto: Aplicado, Nuevo: nuevo, Motivo: "pendiente → " + string(nuevo)}
	case actual.Estado == nuevo && sameHash:
		return keep(Repetido, "ya está "+string(nuevo))
	case actual.Estado == nuevo:
		return keep(Conflicto, "ya está "+string(nuevo)+" con otro codigo_hash")
	case actual.Estado == Aceptado && nuevo == Anulado && sameHash:
		return Decision{Efecto: Aplicado, Nuevo: Anulado, Motivo: "aceptado → anulado"}
	case actual.Estado == Anulado && nuevo == Aceptado && sameHash:
		return keep(Superado, "ya fue anulado después de aceptado")
	case !sameHash:
		return keep(Conflicto, string(nuevo)+" con otro codigo_hash, pero está "+string(actual.Estado))
	}
	return keep(Conflicto, string(nuevo)+" contradice el estado final "+string(actual.Estado))
}
