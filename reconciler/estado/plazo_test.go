package estado_test

import (
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
)

func TestBandasAlrededorDeLaMedianocheDeLima(t *testing.T) {
	t.Parallel()
	u := estado.UmbralesSUNAT
	emision := estado.DiaDeFecha(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	// Lima is UTC-5 all year: midnight in Lima is 05:00 UTC.
	tests := []struct {
		now  string
		dias int
		want estado.Plazo
	}{
		{"2026-11-20T05:00:00Z", 0, estado.EnPlazo},
		{"2026-11-22T04:59:59Z", 1, estado.EnPlazo}, // 23:59:59 on the 21st in Lima
		{"2026-11-22T05:00:00Z", 2, estado.Atencion},
		{"2026-11-25T04:59:59Z", 4, estado.Atencion},
		{"2026-11-25T05:00:00Z", 5, estado.Critico},
		{"2026-11-28T04:59:59Z", 7, estado.Critico}, // the last day within SUNAT's 7
		{"2026-11-28T05:00:00Z", 8, estado.Vencido},
		{"2026-12-31T12:00:00Z", 41, estado.Vencido},
	}
	for _, tt := range tests {
		now, err := time.Parse(time.RFC3339, tt.now)
		if err != nil {
			t.Fatal(err)
		}
		// The server's own zone must not matter: the same instant seen from Tokyo.
		now = now.In(time.FixedZone("Asia/Tokyo", 9*3600))
		if got := estado.DiasDesde(emision, now); got != tt.dias {
			t.Errorf("now %s: %d days, want %d", tt.now, got, tt.dias)
		}
		if got := u.Banda(estado.DiasDesde(emision, now)); got != tt.want {
			t.Errorf("now %s: band %s, want %s", tt.now, got, tt.want)
		}
	}
}

func TestDiaEnLima(t *testing.T) {
	t.Parallel()
	// Issued at 23:30 in Lima on the 19th: 04:30 UTC on the 20th, still the 19th.
	creado := time.Date(2026, 11, 20, 4, 30, 0, 0, time.UTC)
	if got := estado.DiaEnLima(creado); got.Format(time.DateOnly) != "2026-11-19" {
		t.Errorf("day %s, want 2026-11-19", got.Format(time.DateOnly))
	}
	if got := estado.DiaEnLima(creado.Add(30 * time.Minute)); got.Format(time.DateOnly) != "2026-11-20" {
		t.Errorf("day %s, want 2026-11-20", got.Format(time.DateOnly))
	}
	if got := estado.DiaDeFecha(time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)).Inicio(); !got.Equal(time.Date(2026, 11, 19, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("start of the day %s, want 05:00 UTC", got)
	}
}

func TestUmbrales(t *testing.T) {
	t.Parallel()
	custom := estado.Umbrales{Atencion: 1, Critico: 3, Plazo: 3}
	for dias, want := range map[int]estado.Plazo{0: estado.EnPlazo, 1: estado.Atencion, 2: estado.Atencion, 3: estado.Critico, 4: estado.Vencido} {
		if got := custom.Banda(dias); got != want {
			t.Errorf("%d days: %s, want %s", dias, got, want)
		}
	}
	for _, bad := range []estado.Umbrales{{0, 5, 7}, {5, 5, 7}, {2, 8, 7}, {-1, 5, 7}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := estado.UmbralesSUNAT.Validate(); err != nil {
		t.Error(err)
	}
	for _, p := range estado.Plazos {
		d, err := estado.UmbralesSUNAT.DiasMinimos(p)
		if err != nil || estado.UmbralesSUNAT.Banda(d) != p || d > 0 && estado.UmbralesSUNAT.Banda(d-1) == p {
			t.Errorf("DiasMinimos(%s) = %d, %v: not the band's first day", p, d, err)
		}
	}
	if _, err := estado.UmbralesSUNAT.DiasMinimos("urgente"); err == nil {
		t.Error("an unknown band was accepted")
	}
}
