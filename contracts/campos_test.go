package contracts_test

import (
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// TestTodosLosCampos: each name of TodosLosCampos is the JSON key of the value at its position
// in Valores, so that code built from the names (the reconciler's SQL) reads what Campos says.
func TestTodosLosCampos(t *testing.T) {
	vacios := campos{}
	for _, nombre := range contracts.TodosLosCampos.Nombres() {
		vacios[nombre] = `""`
	}
	for i, nombre := range contracts.TodosLosCampos.Nombres() {
		cambios := campos{}
		for k, v := range vacios {
			cambios[k] = v
		}
		cambios[nombre] = `"https://www.nubefact.com/cpe/x"`
		n, err := contracts.Decode(conCampos(t, cambios))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n.Campos(), contracts.Campos(1<<i); got != want {
			t.Errorf("a notification bringing only %s brings %v, want %v", nombre, got.Nombres(), want.Nombres())
		}
		if v := n.Valores(); len(v) != len(contracts.TodosLosCampos.Nombres()) {
			t.Fatalf("Valores has %d values, TodosLosCampos %d names", len(v), len(contracts.TodosLosCampos.Nombres()))
		}
	}
}
