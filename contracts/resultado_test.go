package contracts_test

import (
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

func TestResultado(t *testing.T) {
	tests := []struct {
		name     string
		anulado  *bool
		aceptada *bool
		code     *string
		want     contracts.Resultado
	}{
		{"anulado wins over aceptada", new(true), new(true), new("0"), contracts.Anulado},
		{"anulado wins over a rejection", new(true), new(false), new("2000"), contracts.Anulado},
		{"anulado without code", new(true), nil, nil, contracts.Anulado},
		{"anulado false does not void", new(false), new(true), new("0"), contracts.Aceptado},

		{"aceptada 0", nil, new(true), new("0"), contracts.Aceptado},
		{"aceptada 0000", nil, new(true), new("0000"), contracts.Aceptado},
		{"aceptada 4000 with observations", nil, new(true), new("4000"), contracts.Aceptado},
		{"aceptada 4999", nil, new(true), new("4999"), contracts.Aceptado},
		{"aceptada 99999999", nil, new(true), new("99999999"), contracts.Aceptado},
		{"aceptada exception 0100", nil, new(true), new("0100"), contracts.SinResultado},
		{"aceptada exception 1999", nil, new(true), new("1999"), contracts.SinResultado},
		{"aceptada contradicts 2000", nil, new(true), new("2000"), contracts.SinResultado},
		{"aceptada contradicts 3999", nil, new(true), new("3999"), contracts.SinResultado},
		{"aceptada without code", nil, new(true), nil, contracts.SinResultado},

		{"not aceptada 2000", nil, new(false), new("2000"), contracts.Rechazado},
		{"not aceptada 2033", nil, new(false), new("2033"), contracts.Rechazado},
		{"not aceptada 3999", nil, new(false), new("3999"), contracts.Rechazado},
		{"aceptada absent 2000", nil, nil, new("2000"), contracts.Rechazado},
		{"not aceptada 0", nil, new(false), new("0"), contracts.SinResultado},
		{"not aceptada 0100", nil, new(false), new("0100"), contracts.SinResultado},
		{"not aceptada 1999", nil, new(false), new("1999"), contracts.SinResultado},
		{"not aceptada 4000", nil, new(false), new("4000"), contracts.SinResultado},
		{"aceptada absent 0", nil, nil, new("0"), contracts.SinResultado},

		{"nothing", nil, nil, nil, contracts.SinResultado},
		{"code not a number", nil, new(true), new("abc"), contracts.SinResultado},
		{"code empty", nil, new(true), new(""), contracts.SinResultado},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := boleta()
			n.Anulado, n.AceptadaPorSunat, n.SunatResponsecode = tt.anulado, tt.aceptada, tt.code
			if got := n.Resultado(); got != tt.want {
				t.Errorf("Resultado() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResultadoFinal(t *testing.T) {
	for r, want := range map[contracts.Resultado]bool{
		contracts.SinResultado: false,
		contracts.Aceptado:     true,
		contracts.Rechazado:    true,
		contracts.Anulado:      true,
		"pendiente":            false,
	} {
		t.Run(string(r), func(t *testing.T) {
			if got := r.Final(); got != want {
				t.Errorf("Final() = %v, want %v", got, want)
			}
		})
	}
}

func BenchmarkResultado(b *testing.B) {
	n := boleta()
	b.ReportAllocs()
	for b.Loop() {
		if n.Resultado() != contracts.Aceptado {
			b.Fatal("not aceptado")
		}
	}
}
