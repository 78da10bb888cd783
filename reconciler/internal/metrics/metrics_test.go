package metrics

import (
	"strconv"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"

	"github.com/hotelpe/boletas/reconciler/estado"
	dto "github.com/prometheus/client_model/go"
)

// gauge reads one sample of the registry.
func gauge(t *testing.T, m *Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue samples
				}
			}
			return value(s), true
		}
	}
	return 0, false
}

func value(s *dto.Metric) float64 {
	if s.Gauge != nil {
		return s.Gauge.GetValue()
	}
	return s.GetCounter().GetValue()
}

// The gauges from one Foto, with the clock injected around Lima's midnight: every band of every
// tipo is present, and a boleta turns atencion at 00:00 in Lima, not at the server's midnight.
func TestRefresherBandsAroundLimaMidnight(t *testing.T) {
	emitida := estado.DiaDeFecha(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	foto := estado.Foto{
		PendientesPorDia: []estado.PendientesDia{{Tipo: 2, Dia: emitida, N: 3}},
		Comprobantes:     []estado.ConteoEstado{{Tipo: 2, Estado: "pendiente", N: 3}, {Tipo: 2, Estado: "aceptado", N: 9}},
		Regularizaciones: map[string]int64{"error_cuenta": 2},
	}
	for _, tt := range []struct {
		now  time.Time
		want estado.Plazo
	}{
		{time.Date(2026, 11, 22, 4, 59, 59, 0, time.UTC), estado.EnPlazo}, // 23:59:59 on the 21st in Lima
		{time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC), estado.Atencion},  // 00:00 on the 22nd in Lima
		{time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC), estado.Critico},   // 5 days
		{time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC), estado.Vencido},   // 8 days
	} {
		m := New()
		r := &Refresher{M: m, Umbrales: estado.UmbralesSUNAT}
		r.set(foto, tt.now)
		for _, t0 := range contracts.Tipos {
			tipo := t0.String()
			for _, p := range estado.Plazos {
				want := 0.0
				if tipo == "boleta" && p == tt.want {
					want = 3
				}
				got, ok := gauge(t, m, "reconciler_pendientes", map[string]string{"tipo": tipo, "plazo": string(p)})
				if !ok || got != want {
					t.Errorf("at %v: reconciler_pendientes{tipo=%s,plazo=%s} = %v (present %v), want %v", tt.now, tipo, p, got, ok, want)
				}
			}
		}
		age, _ := gauge(t, m, "reconciler_pendiente_mas_antiguo_seconds", nil)
		if want := tt.now.Sub(time.Date(2026, 11, 20, 5, 0, 0, 0, time.UTC)).Seconds(); age != want {
			t.Errorf("at %v: oldest pending %vs, want %vs (from the start of its day in Lima)", tt.now, age, want)
		}
	}
	m := New()
	(&Refresher{M: m, Umbrales: estado.UmbralesSUNAT}).set(foto, time.Now())
	if v, _ := gauge(t, m, "reconciler_comprobantes", map[string]string{"tipo": "boleta", "estado": "aceptado"}); v != 9 {
		t.Errorf("reconciler_comprobantes{boleta,aceptado} = %v, want 9", v)
	}
	if v, ok := gauge(t, m, "reconciler_regularizaciones_total", map[string]string{"resultado": "error_cuenta"}); !ok || v != 2 {
		t.Errorf("reconciler_regularizaciones_total{error_cuenta} = %v (present %v), want 2", v, ok)
	}
	if v, ok := gauge(t, m, "reconciler_regularizaciones_total", map[string]string{"resultado": "completa"}); !ok || v != 0 {
		t.Errorf("reconciler_regularizaciones_total{completa} = %v (present %v), want 0", v, ok)
	}
}

// BenchmarkMetricsPerBatch measures what metrics add to one batch of 500 notifications: the
// audit counters and the batch's duration.
func BenchmarkMetricsPerBatch(b *testing.B) {
	rs := make([]estado.Registro, 500)
	for i := range rs {
		rs[i] = estado.Registro{Efecto: estado.Aplicado, Origen: "webhook"}
	}
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.Auditadas(rs)
		m.BatchApplied(20 * time.Millisecond)
	}
}

// The origen label takes only known values: 2,000 distinct origins recorded before origins had
// subjects (a parked notification's header text) add no series, and are counted under otro.
func TestNotificationsOrigenLabelIsBounded(t *testing.T) {
	m := New()
	series := func() int {
		families, err := m.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "reconciler_notifications_total" {
				return len(f.GetMetric())
			}
		}
		return 0
	}
	before := series()
	rs := make([]estado.Registro, 0, 2000)
	for i := range 2000 {
		rs = append(rs, estado.Registro{Efecto: estado.Aplicado, Origen: "origen-" + strconv.Itoa(i)})
	}
	rs = append(rs, estado.Registro{Efecto: estado.Aplicado, Origen: "webhook"})
	m.Auditadas(rs)
	if after := series(); after != before {
		t.Errorf("series went from %d to %d", before, after)
	}
	if v, _ := gauge(t, m, "reconciler_notifications_total", map[string]string{"efecto": "aplicado", "origen": "otro"}); v != 2000 {
		t.Errorf("otro = %v, want 2000", v)
	}
	if v, _ := gauge(t, m, "reconciler_notifications_total", map[string]string{"efecto": "aplicado", "origen": "webhook"}); v != 1 {
		t.Errorf("webhook = %v, want 1", v)
	}
}
