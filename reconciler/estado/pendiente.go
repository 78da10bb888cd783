package estado

import (
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

// ComprobantePendiente is a pending comprobante: its row id (the pagination key) and its key.
type ComprobantePendiente struct {
	ID    int64
	Clave contracts.Clave
}
