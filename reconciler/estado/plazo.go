package estado

import (
	"fmt"
	"time"
	_ "time/tzdata" // America/Lima on machines (and distroless images) without a zoneinfo database
)

// Lima is SUNAT's clock: a boleta's day and its deadline are counted in America/Lima, whatever
// the server's time zone.
var Lima = mustLoadLocation("America/Lima")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded: this cannot happen
	}
	return loc
}

// Plazo is a pending comprobante's band against SUNAT's deadline. The Resumen Diario reports
// a boleta; SUNAT flags one received more than 7 days after its issue date (4443), refuses to
// void it after 7 days (2957), and answers 1079 to one sent on its own after 5 days.
type Plazo string

const (
	EnPlazo  Plazo = "en_plazo" // 0 to 1 days: the normal wait for the daily summary
	Atencion Plazo = "atencion" // 2 to 4 days: later than usual, worth a look
	Critico  Plazo = "critico"  // 5 to 7 days: act now, the deadline is close
	Vencido  Plazo = "vencido"  // more than 7 days: the deadline has passed
)

// Plazos lists the bands from the most relaxed to the most urgent.
var Plazos = []Plazo{EnPlazo, Atencion, Critico, Vencido}

// Umbrales are the bands' thresholds in calendar days since issue: Atencion and Critico are the
// first day of those bands, Plazo the last day within the deadline.
type Umbrales struct {
	Atencion int // PLAZO_ATENCION_DIAS, 2
	Critico  int // PLAZO_CRITICO_DIAS, 5
	Plazo    int // PLAZO_DIAS, 7
}

// UmbralesSUNAT are SUNAT's rules as DOMAIN.md states them.
var UmbralesSUNAT = Umbrales{Atencion: 2, Critico: 5, Plazo: 7}

// Validate requires 0 < Atencion < Critico <= Plazo.
func (u Umbrales) Validate() error {
	if u.Atencion <= 0 || u.Atencion >= u.Critico || u.Critico > u.Plazo {
		return fmt.Errorf("deadline thresholds must satisfy 0 < PLAZO_ATENCION_DIAS (%d) < PLAZO_CRITICO_DIAS (%d) <= PLAZO_DIAS (%d)",
			u.Atencion, u.Critico, u.Plazo)
	}
	return nil
}

// Banda is the band of a comprobante issued dias calendar days ago.
func (u Umbrales) Banda(dias int) Plazo {
	switch {
	case dias > u.Plazo:
		return Vencido
	case dias >= u.Critico:
		return Critico
	case dias >= u.Atencion:
		return Atencion
	}
	return EnPlazo
}

// DiasMinimos is the fewest days since issue of a comprobante in band p.
func (u Umbrales) DiasMinimos(p Plazo) (int, error) {
	switch p {
	case EnPlazo:
		return 0, nil
	case Atencion:
		return u.Atencion, nil
	case Critico:
		return u.Critico, nil
	case Vencido:
		return u.Plazo + 1, nil
	}
	return 0, fmt.Errorf("unknown band %q: want one of en_plazo, atencion, critico, vencido", p)
}

// Dia is a calendar day in Lima: midnight UTC of that date, as pgx reads a Postgres date.
type Dia struct{ time.Time }

// DiaEnLima is the day t falls on in Lima: a boleta issued at 23:30 in Lima on day D is of D.
func DiaEnLima(t time.Time) Dia {
	y, m, d := t.In(Lima).Date()
	return Dia{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// DiaDeFecha is the day of a Postgres date (or any instant whose UTC date is the day meant).
func DiaDeFecha(t time.Time) Dia {
	y, m, d := t.UTC().Date()
	return Dia{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// DiasDesde counts calendar days from d to the day now falls on in Lima.
func DiasDesde(d Dia, now time.Time) int {
	return int(DiaEnLima(now).Sub(d.Time) / (24 * time.Hour))
}

// Antes is the day dias days before d.
func (d Dia) Antes(dias int) Dia { return Dia{d.AddDate(0, 0, -dias)} }

// Inicio is the instant the day begins in Lima.
func (d Dia) Inicio() time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, Lima)
}
