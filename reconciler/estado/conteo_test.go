package estado_test

import (
	"maps"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

func TestContar(t *testing.T) {
	t.Parallel()
	dia := func(s string) estado.Dia {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return estado.DiaDeFecha(d)
	}
	// 00:30 on the 22nd in Lima, 05:30 UTC: the 20th is 2 days ago.
	now := time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC)
	pendientes := []estado.PendientesDia{
		{Tipo: contracts.Boleta, Dia: dia("2026-11-21"), N: 3},
		{Tipo: contracts.Boleta, Dia: dia("2026-11-20"), N: 4},
		{Tipo: contracts.Boleta, Dia: dia("2026-11-13"), N: 1},
		{Tipo: contracts.Factura, Dia: dia("2026-11-22"), N: 2},
		{Tipo: contracts.Factura, Dia: dia("2026-11-16"), N: 5},
		{Tipo: 9, Dia: dia("2026-11-10"), N: 6}, // not a tipo: counted in the total only
	}
	got := estado.UmbralesSUNAT.Contar(pendientes, now)
	wantPorTipo := map[contracts.Tipo]map[estado.Plazo]int64{
		contracts.Boleta:  {estado.EnPlazo: 3, estado.Atencion: 4, estado.Vencido: 1},
		contracts.Factura: {estado.EnPlazo: 2, estado.Critico: 5},
		9:                 {estado.Vencido: 6},
	}
	for tipo, want := range wantPorTipo {
		if !maps.Equal(got.PorTipo[tipo], want) {
			t.Errorf("tipo %v: %v, want %v", tipo, got.PorTipo[tipo], want)
		}
	}
	if len(got.PorTipo) != len(wantPorTipo) {
		t.Errorf("counted tipos %v, want %v", got.PorTipo, wantPorTipo)
	}
	if want := map[estado.Plazo]int64{estado.EnPlazo: 5, estado.Atencion: 4, estado.Critico: 5, estado.Vencido: 7}; !maps.Equal(got.Total, want) {
		t.Errorf("total %v, want %v", got.Total, want)
	}
	if got.PorTipo[contracts.NotaDeCredito][estado.Critico] != 0 {
		t.Error("a tipo with none does not read as 0")
	}
	if !got.MasAntiguo.Equal(dia("2026-11-10").Time) {
		t.Errorf("oldest %v, want 2026-11-10", got.MasAntiguo)
	}
	if none := estado.UmbralesSUNAT.Contar(nil, now); !none.MasAntiguo.IsZero() || len(none.Total) != 0 {
		t.Errorf("nothing pending: %+v, want zero", none)
	}
}
