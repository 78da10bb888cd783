package contracts_test

import (
	"encoding/json"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

func TestTipo(t *testing.T) {
	for _, tt := range []struct {
		tipo  contracts.Tipo
		valid bool
		label string
	}{
		{contracts.Factura, true, "factura"},
		{contracts.Boleta, true, "boleta"},
		{contracts.NotaDeCredito, true, "nota_de_credito"},
		{contracts.NotaDeDebito, true, "nota_de_debito"},
		{0, false, "0"},
		{5, false, "5"},
		{-1, false, "-1"},
	} {
		if got := tt.tipo.Valid(); got != tt.valid {
			t.Errorf("Tipo(%d).Valid() = %v, want %v", int(tt.tipo), got, tt.valid)
		}
		if got := tt.tipo.String(); got != tt.label {
			t.Errorf("Tipo(%d).String() = %q, want %q", int(tt.tipo), got, tt.label)
		}
	}
	if len(contracts.Tipos) != 4 {
		t.Errorf("Tipos = %v, want the four", contracts.Tipos)
	}
	// On the wire a tipo stays a number.
	b, err := json.Marshal(struct {
		Tipo contracts.Tipo `json:"tipo_de_comprobante"`
	}{contracts.Boleta})
	if err != nil || string(b) != `{"tipo_de_comprobante":2}` {
		t.Errorf("marshalled %s (%v), want the number", b, err)
	}
}
