package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/system/testkit"
)

// TestE2EMetrics scrapes both services' real endpoints: a webhook moves ingest's and the
// reconciler's counters, and a boleta issued six days ago (in Lima) is counted as critico.
func TestE2EMetrics(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{}) // METRICS_INTERVAL 1s
	now := time.Now()
	hoy := estado.DiaEnLima(now)
	pendiente := func(serie string, numero int, dia estado.Dia) {
		t.Helper()
		_, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
			VALUES (2, $1, $2, $3)`, serie, numero, dia.Format(time.DateOnly))
		if err != nil {
			t.Fatal(err)
		}
	}
	pendiente("BBB1", 105, hoy)        // accepted by the webhook below
	pendiente("BMET", 1, hoy.Antes(6)) // critico: 5 to 7 days
	pendiente("BMET", 2, hoy.Antes(8)) // vencido
	pendiente("BMET", 3, hoy.Antes(1)) // en_plazo
	// A row with no fecha_de_emision is dated by its creation, in Lima.
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, creado_en)
		VALUES (1, 'FMET', 4, now() - interval '3 days')`); err != nil {
		t.Fatal(err)
	}

	if code, _ := s.post(seed(t)); code != http.StatusOK {
		t.Fatalf("webhook: status %d, want 200", code)
	}
	if code, _ := s.post([]byte(`{}`)); code != http.StatusBadRequest {
		t.Fatalf("empty notification: status %d, want 400", code)
	}
	if code, _ := s.postWith(seed(t), nil, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: status %d, want 401", code)
	}

	s.mu.Lock()
	ingestURL := s.ingestMetrics
	s.mu.Unlock()
	reconcilerURL := s.reconciler + "/metrics"
	want := []struct {
		url, name string
		labels    map[string]string
		value     float64
	}{
		{ingestURL, "ingest_webhooks_total", map[string]string{"code": "200"}, 1},
		{ingestURL, "ingest_webhooks_total", map[string]string{"code": "400"}, 1},
		{ingestURL, "ingest_webhooks_total", map[string]string{"code": "401"}, 1},
		{ingestURL, "ingest_webhooks_total", map[string]string{"code": "503"}, 0},
		{ingestURL, "ingest_publish_duration_seconds", nil, 1},
		{ingestURL, "ingest_webhook_duration_seconds", nil, 3},
		{ingestURL, "ingest_duplicates_total", nil, 0},
		{reconcilerURL, "reconciler_notifications_total", map[string]string{"efecto": "aplicado", "origen": "webhook"}, 1},
		{reconcilerURL, "reconciler_notifications_total", map[string]string{"efecto": "conflicto", "origen": "webhook"}, 0},
		{reconcilerURL, "reconciler_events_published_total", map[string]string{"type": "boleta.aceptada"}, 1},
		{reconcilerURL, "reconciler_batch_duration_seconds", nil, 1},
		{reconcilerURL, "reconciler_dead_letters_total", nil, 0},
		{reconcilerURL, "reconciler_comprobantes", map[string]string{"tipo": "boleta", "estado": "aceptado"}, 1},
		{reconcilerURL, "reconciler_comprobantes", map[string]string{"tipo": "boleta", "estado": "pendiente"}, 3},
		{reconcilerURL, "reconciler_comprobantes", map[string]string{"tipo": "factura", "estado": "pendiente"}, 1},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "boleta", "plazo": "critico"}, 1},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "boleta", "plazo": "vencido"}, 1},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "boleta", "plazo": "en_plazo"}, 1},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "boleta", "plazo": "atencion"}, 0},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "factura", "plazo": "atencion"}, 1},
		{reconcilerURL, "reconciler_pendientes", map[string]string{"tipo": "nota_de_debito", "plazo": "vencido"}, 0},
		{reconcilerURL, "reconciler_outbox_pending", nil, 0},
		{reconcilerURL, "reconciler_consumer_pending", nil, 0},
		{reconcilerURL, "reconciler_esperando", nil, 0},
		{reconcilerURL, "reconciler_conflictos", nil, 0},
		{reconcilerURL, "reconciler_regularizaciones_total", map[string]string{"resultado": "error_cuenta"}, 0},
	}
	testkit.EventuallyNoError(t, 15*time.Second, "every metric's value", func() error {
		scrapes := map[string]testkit.Metrics{ingestURL: testkit.Scrape(t, ingestURL), reconcilerURL: testkit.Scrape(t, reconcilerURL)}
		for _, w := range want {
			if got, ok := scrapes[w.url].Value(w.name, w.labels); !ok || got != w.value {
				return fmt.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
			}
		}
		return nil
	})

	// The oldest pending one was issued eight days ago: at least 8 days old from its day's start.
	m := testkit.Scrape(t, reconcilerURL)
	if age, _ := m.Value("reconciler_pendiente_mas_antiguo_seconds", nil); age < 8*24*3600 || age > 9*24*3600 {
		t.Errorf("reconciler_pendiente_mas_antiguo_seconds = %v, want between 8 and 9 days", age)
	}
	// No label carries a serie, a numero, a token or a URL.
	for _, u := range []string{ingestURL, reconcilerURL} {
		for name, f := range testkit.Scrape(t, u) {
			for _, sample := range f.GetMetric() {
				for _, l := range sample.GetLabel() {
					v := l.GetValue()
					if strings.Contains(v, "BBB1") || strings.Contains(v, "BMET") || strings.Contains(v, "105") ||
						strings.Contains(v, "token") || strings.Contains(v, "://") {
						t.Errorf("%s{%s=%q}: a label carries an identifier or a URL", name, l.GetName(), v)
					}
				}
			}
		}
	}
	// The metrics are never on the public webhook listener.
	resp, err := http.Get(s.ingest + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the webhook listener: %d, want 404", resp.StatusCode)
	}
}
