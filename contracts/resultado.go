package contracts

import "strconv"

// Resultado is the outcome a notification reports for its comprobante.
type Resultado string

const (
	// SinResultado: SUNAT has not decided yet (no code, an exception code 0100–1999, or fields
	// that contradict each other). The comprobante stays pendiente; NubeFacT resends it.
	SinResultado Resultado = "sin_resultado"
	Aceptado     Resultado = "aceptado"
	Rechazado    Resultado = "rechazado"
	Anulado      Resultado = "anulado"
)

// Final reports whether r is one of the final outcomes.
func (r Resultado) Final() bool { return r == Aceptado || r == Rechazado || r == Anulado }

// Resultado classifies the notification by SUNAT's response-code ranges:
//
//	anulado: true                                   → anulado (the boleta was voided)
//	aceptada_por_sunat true, code 0 or ≥ 4000       → aceptado (4000+: with observations)
//	aceptada_por_sunat not true, code 2000–3999     → rechazado
//	anything else, including 0100–1999              → sin resultado
func (n Notificacion) Resultado() Resultado {
	if n.Anulado != nil && *n.Anulado {
		return Anulado
	}
	if n.SunatResponsecode == nil {
		return SinResultado
	}
	code, err := strconv.Atoi(*n.SunatResponsecode)
	if err != nil {
		return SinResultado
	}
	aceptada := n.AceptadaPorSunat != nil && *n.AceptadaPorSunat
	switch {
	case aceptada && (code == 0 || code >= 4000):
		return Aceptado
	case !aceptada && code >= 2000 && code <= 3999:
		return Rechazado
	}
	return SinResultado
}
