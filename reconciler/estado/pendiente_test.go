package estado_test

import (
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
)

func TestFiltroDescripcion(t *testing.T) {
	t.Parallel()
	antes := estado.DiaDeFecha(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)).Inicio()
	for _, tt := range []struct {
		filtro estado.Filtro
		extra  []string
		want   string
	}{
		{estado.Filtro{}, nil, "todos los pendientes"},
		{estado.Filtro{}, []string{"--dry-run"}, "--dry-run"},
		{estado.Filtro{EmitidosAntesDe: antes, Tipo: 2, Serie: "BBB1"}, []string{"--limit 5"},
			"--older-than 2026-11-20T00:00:00-05:00 --tipo 2 --serie BBB1 --limit 5"},
	} {
		if got := tt.filtro.Descripcion(tt.extra...); got != tt.want {
			t.Errorf("%+v with %q: %q, want %q", tt.filtro, tt.extra, got, tt.want)
		}
	}
}
