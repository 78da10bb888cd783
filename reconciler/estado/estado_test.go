package estado_test

import (
	"testing"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

func TestDecidir(t *testing.T) {
	const h, otro = "xMLFMnbgp1/bHEy572RKRTE9hPY=", "OTRO+hash="
	tests := []struct {
		name   string
		actual estado.Actual
		r      contracts.Resultado
		hash   string
		efecto estado.Efecto
		nuevo  estado.Estado
	}{
		{"pendiente acepta", estado.Actual{estado.Pendiente, ""}, contracts.Aceptado, h, estado.Aplicado, estado.Aceptado},
		{"pendiente rechaza", estado.Actual{estado.Pendiente, ""}, contracts.Rechazado, h, estado.Aplicado, estado.Rechazado},
		{"pendiente anula", estado.Actual{estado.Pendiente, ""}, contracts.Anulado, h, estado.Aplicado, estado.Anulado},
		{"pendiente sin resultado", estado.Actual{estado.Pendiente, ""}, contracts.SinResultado, h, estado.SinResultado, estado.Pendiente},
		{"aceptado sin resultado", estado.Actual{estado.Aceptado, h}, contracts.SinResultado, h, estado.SinResultado, estado.Aceptado},
		{"aceptado repetido", estado.Actual{estado.Aceptado, h}, contracts.Aceptado, h, estado.Repetido, estado.Aceptado},
		{"aceptado repetido sin hash", estado.Actual{estado.Aceptado, h}, contracts.Aceptado, "", estado.Repetido, estado.Aceptado},
		{"aceptado con otro hash", estado.Actual{estado.Aceptado, h}, contracts.Aceptado, otro, estado.Conflicto, estado.Aceptado},
		{"aceptado luego anulado", estado.Actual{estado.Aceptado, h}, contracts.Anulado, h, estado.Aplicado, estado.Anulado},
		{"aceptado anulado sin hash", estado.Actual{estado.Aceptado, h}, contracts.Anulado, "", estado.Aplicado, estado.Anulado},
		{"aceptado anulado con otro hash", estado.Actual{estado.Aceptado, h}, contracts.Anulado, otro, estado.Conflicto, estado.Aceptado},
		{"aceptado luego rechazado", estado.Actual{estado.Aceptado, h}, contracts.Rechazado, h, estado.Conflicto, estado.Aceptado},
		{"rechazado luego aceptado", estado.Actual{estado.Rechazado, h}, contracts.Aceptado, h, estado.Conflicto, estado.Rechazado},
		{"rechazado luego anulado", estado.Actual{estado.Rechazado, h}, contracts.Anulado, h, estado.Conflicto, estado.Rechazado},
		{"rechazado repetido", estado.Actual{estado.Rechazado, h}, contracts.Rechazado, h, estado.Repetido, estado.Rechazado},
		{"anulado repetido", estado.Actual{estado.Anulado, h}, contracts.Anulado, h, estado.Repetido, estado.Anulado},
		{"anulado luego aceptado (tardío)", estado.Actual{estado.Anulado, h}, contracts.Aceptado, h, estado.Superado, estado.Anulado},
		{"anulado luego aceptado con otro hash", estado.Actual{estado.Anulado, h}, contracts.Aceptado, otro, estado.Conflicto, estado.Anulado},
		{"anulado luego rechazado", estado.Actual{estado.Anulado, h}, contracts.Rechazado, h, estado.Conflicto, estado.Anulado},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := estado.Decidir(tt.actual, tt.r, tt.hash)
			if d.Efecto != tt.efecto || d.Nuevo != tt.nuevo {
				t.Errorf("Decidir(%v, %s, %q) = %s → %s (%s), want %s → %s", tt.actual, tt.r, tt.hash, d.Efecto, d.Nuevo, d.Motivo, tt.efecto, tt.nuevo)
			}
			if d.Motivo == "" {
				t.Error("empty Motivo: the audit needs a reason")
			}
			if d.Efecto != estado.Aplicado && d.Nuevo != tt.actual.Estado {
				t.Errorf("%s changed the state to %s", d.Efecto, d.Nuevo)
			}
		})
	}
}
