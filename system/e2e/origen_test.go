package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/cli"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go"
)

// forjada is an acceptance of serie-numero with a hash and a CDR link of the forger's.
func forjada(t *testing.T, serie string, numero int) []byte {
	t.Helper()
	r := simulador.Respuesta(clave(serie, numero), simulador.Aceptada)
	r["codigo_hash"] = "hash-forjado="
	r["enlace_del_cdr"] = "https://evil.example/forged.cdr"
	body, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// The replay bypass: with VERIFY_WEBHOOKS on, a forged webhook for a comprobante not yet in the
// table is parked; the comprobante is inserted while NubeFacT has no final outcome, so it keeps
// waiting; ops replay it (as the console recommends). The replay keeps its origin, webhook, and
// is confirmed like one: the forgery is recorded as a conflict and never applied, and the
// genuine acceptance applies when it comes.
func TestReplayedForgedWebhookIsVerified(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, prepare: func(p *pipeline) { p.cfg.VerifyWebhooks, p.cfg.VerifyRetries = true, 2 }})
	if code, _ := s.post(forjada(t, "BRF1", 1)); code != http.StatusOK {
		t.Fatalf("forged webhook: status %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "the forged webhook parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BRF1'`) == 1
	})
	s.sim.Poner(clave("BRF1", 1), simulador.Pendiente) // in the Resumen Diario: no outcome yet
	s.insertPendiente(2, "BRF1", 1)
	id := s.column(`SELECT message_id FROM aparcadas WHERE serie = 'BRF1'`)[0]
	if err := cli.Ejecutar(context.Background(), s.cfg, []string{"replay", id}, io.Discard, io.Discard); err != nil {
		t.Fatalf("replay: %v", err)
	}
	testkit.Eventually(t, 30*time.Second, "the replayed forgery recorded as a conflict", func() bool {
		return s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BRF1' AND efecto = 'conflicto'
			AND origen = 'webhook' AND motivo LIKE '%no confirmado%'`) >= 1
	})
	if got := s.estado("BRF1", 1); got != "pendiente" {
		t.Fatalf("the forged webhook was applied: BRF1-1 is %s", got)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BRF1' AND efecto = 'aplicado'`); n != 0 {
		t.Errorf("applied audit rows before NubeFacT's answer: %d", n)
	}
	if n := s.sim.LlamadasDe(clave("BRF1", 1)); n == 0 {
		t.Error("the replay was not confirmed with NubeFacT")
	}

	s.sim.Poner(clave("BRF1", 1), simulador.Aceptada)
	genuina, err := answerJSON(clave("BRF1", 1), simulador.Aceptada)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := s.post(genuina); code != http.StatusOK {
		t.Fatalf("genuine webhook: status %d", code)
	}
	testkit.Eventually(t, 20*time.Second, "the genuine acceptance applied", func() bool { return s.estado("BRF1", 1) == "aceptado" })
	hash := s.column(`SELECT codigo_hash || ' ' || enlace_del_cdr FROM comprobantes WHERE serie = 'BRF1'`)[0]
	if strings.Contains(hash, "forjado") || strings.Contains(hash, "evil.example") {
		t.Errorf("stored %q: the forger's hash or link", hash)
	}
}

// Whoever reaches NATS with an identity that may publish there (deploy/nats gives each role the
// subjects it needs) still cannot pass for NubeFacT: the origin is the subject's, not
// a header's, and on a subject that names no origin the sender and time headers are not
// believed either. Both forgeries are confirmed with NubeFacT, which has no outcome yet.
func TestForgedOriginHeadersAreNotBelieved(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, prepare: func(p *pipeline) { p.cfg.VerifyWebhooks, p.cfg.VerifyRetries = true, 2 }})
	for n := 1; n <= 2; n++ {
		s.insertPendiente(2, "BRF2", n)
		s.sim.Poner(clave("BRF2", n), simulador.Pendiente)
	}
	publicar := func(subject string, body []byte, h map[string]string) {
		m := nats.NewMsg(subject)
		m.Data = body
		for k, v := range h {
			m.Header.Set(k, v)
		}
		if _, err := s.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	nubefactHeaders := map[string]string{"Nubefact-Origen": contracts.OrigenVerificacion,
		contracts.CabeceraRemitente: contracts.RemitenteNubefact, contracts.CabeceraRecibido: "2020-01-01T00:00:00Z"}
	// The subject every origin shared before, with headers claiming NubeFacT's answer.
	publicar(strings.TrimSuffix(s.topo.SubjectNotificacion(contracts.OrigenWebhook), ".webhook"), forjada(t, "BRF2", 1), nubefactHeaders)
	// The webhook subject, claiming to be NubeFacT's answer.
	publicar(s.topo.SubjectNotificacion(contracts.OrigenWebhook), forjada(t, "BRF2", 2), nubefactHeaders)

	testkit.Eventually(t, 30*time.Second, "both forgeries recorded as conflicts", func() bool {
		return s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BRF2' AND efecto = 'conflicto'`) == 2
	})
	for n := 1; n <= 2; n++ {
		if got := s.estado("BRF2", n); got != "pendiente" {
			t.Errorf("BRF2-%d is %s: a forgery was applied", n, got)
		}
	}
	checks := []struct {
		numero    int
		origen    string
		remitente string
	}{
		{1, contracts.OrigenDesconocido, ""},     // nothing believed
		{2, contracts.OrigenWebhook, "nubefact"}, // only ingest may publish there (its headers stand)
	}
	for _, c := range checks {
		var origen, remitente string
		var recibido time.Time
		if err := s.pool.QueryRow(context.Background(), `SELECT origen, coalesce(remitente, ''), recibido_en FROM notificaciones
			WHERE serie = 'BRF2' AND numero = $1 AND efecto = 'conflicto'`, c.numero).Scan(&origen, &remitente, &recibido); err != nil {
			t.Fatal(err)
		}
		if origen != c.origen || !strings.HasPrefix(remitente, c.remitente) {
			t.Errorf("BRF2-%d recorded as origen %q, remitente %q; want %q, %q", c.numero, origen, remitente, c.origen, c.remitente)
		}
		if c.origen == contracts.OrigenDesconocido && recibido.Year() == 2020 {
			t.Errorf("BRF2-%d: the forged Nubefact-Recibido header was believed (%v)", c.numero, recibido)
		}
	}
}
