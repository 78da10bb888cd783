package estado

import (
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// PendientesDia is the number of pending comprobantes of one tipo issued on one day.
type PendientesDia struct {
	Tipo contracts.Tipo
	Dia  Dia
	N    int64
}

// PendientesPorPlazo are pending comprobantes counted by band at one moment.
type PendientesPorPlazo struct {
	// PorTipo counts each tipo's by band; Total counts every tipo's, unknown ones included. A
	// band with none is missing (it reads as 0).
	PorTipo map[contracts.Tipo]map[Plazo]int64
	Total   map[Plazo]int64
	// MasAntiguo is the oldest day of issue among them; zero when there are none.
	MasAntiguo Dia
}

// Contar folds the pending comprobantes by day into their bands as of now, days counted in Lima:
// what the summary's table and the deadline metrics show.
func (u Umbrales) Contar(pendientes []PendientesDia, now time.Time) PendientesPorPlazo {
	c := PendientesPorPlazo{PorTipo: map[contracts.Tipo]map[Plazo]int64{}, Total: map[Plazo]int64{}}
	for _, p := range pendientes {
		b := u.Banda(DiasDesde(p.Dia, now))
		if c.PorTipo[p.Tipo] == nil {
			c.PorTipo[p.Tipo] = map[Plazo]int64{}
		}
		c.PorTipo[p.Tipo][b] += p.N
		c.Total[b] += p.N
		if c.MasAntiguo.IsZero() || p.Dia.Before(c.MasAntiguo.Time) {
			c.MasAntiguo = p.Dia
		}
	}
	return c
}
