package estado

import (
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// Filtro selects pending comprobantes for regularization. Zero fields do not filter.
type Filtro struct {
	// EmitidosAntesDe keeps those issued (fecha_de_emision, or the row's creation when the date
	// is unknown) before this instant.
	EmitidosAntesDe time.Time
	Tipo            int
	Serie           string
}

// Descripcion is the selection as regularize's command line writes it, extra (more of its
// flags) after the filter's: what a run's record says it selected.
func (f Filtro) Descripcion(extra ...string) string {
	var parts []string
	if !f.EmitidosAntesDe.IsZero() {
		parts = append(parts, "--older-than "+f.EmitidosAntesDe.In(Lima).Format(time.RFC3339))
	}
	if f.Tipo != 0 {
		parts = append(parts, "--tipo "+strconv.Itoa(f.Tipo))
	}
	if f.Serie != "" {
		parts = append(parts, "--serie "+f.Serie)
	}
	parts = append(parts, extra...)
	if len(parts) == 0 {
		return "todos los pendientes"
	}
	return strings.Join(parts, " ")
}

// ComprobantePendiente is a pending comprobante: its row id (the pagination key) and its key.
type ComprobantePendiente struct {
	ID    int64
	Clave contracts.Clave
}
