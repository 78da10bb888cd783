package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/cli"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
)

const simToken = "sim-token-0123456789abcdef"

// withSimulador starts a fake NubeFacT and points cfg at it.
func withSimulador(tb testing.TB, cfg *reconciler.Config) *simulador.Simulador {
	tb.Helper()
	sim := simulador.New(simToken)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	cfg.NubefactRuta, cfg.NubefactToken = srv.URL+sim.Ruta, simToken
	cfg.NubefactTimeout, cfg.NubefactRetries, cfg.NubefactBackoff = 5*time.Second, 4, 5*time.Millisecond
	return sim
}

// regularizar runs `reconciler regularize args...` with the reconcilers' configuration.
func (s *pipeline) regularizar(ctx context.Context, args ...string) (string, error) {
	s.t.Helper()
	var out, errOut strings.Builder
	err := cli.Ejecutar(ctx, s.cfg, append([]string{"regularize"}, args...), &out, &errOut)
	if strings.Contains(out.String()+errOut.String(), simToken) {
		s.t.Error("the NubeFacT token appeared in the output")
	}
	return out.String(), err
}

func clave(serie string, numero int) contracts.Clave {
	return contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: serie, Numero: numero}
}

func TestRegularizarEveryResultado(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, subscribe: true})
	casos := map[int]simulador.Situacion{1: simulador.Aceptada, 2: simulador.Rechazada, 3: simulador.Anulada,
		4: simulador.Pendiente, 5: simulador.NoExiste, 6: simulador.Aceptada}
	for n, r := range casos {
		s.insertPendiente(2, "BRG1", n)
		s.sim.Poner(clave("BRG1", n), r)
	}
	s.sim.Fallar(clave("BRG1", 6), 21) // "could not be completed": recorded, the batch goes on
	report := filepath.Join(t.TempDir(), "pendientes.csv")

	out, err := s.regularizar(context.Background(), "--rate", "0", "--report", report)
	if !errors.Is(err, cli.ErrNoResueltas) {
		t.Fatalf("regularize: %v, want ErrNoResueltas (one boleta ended in error)\n%s", err, out)
	}
	for _, want := range []string{"consulted  6", "aceptadas  1", "rechazadas  1", "anuladas  1", "still pending  1", "not found in NubeFacT  1", "errors  1", "published  3"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the three final outcomes applied", func() bool {
		return s.estado("BRG1", 1) == "aceptado" && s.estado("BRG1", 2) == "rechazado" && s.estado("BRG1", 3) == "anulado"
	})
	for _, n := range []int{4, 5, 6} {
		if got := s.estado("BRG1", n); got != "pendiente" {
			t.Errorf("BRG1-%d is %s, want pendiente", n, got)
		}
	}
	var cdr, hash string
	if err := s.pool.QueryRow(context.Background(), `SELECT enlace_del_cdr, codigo_hash FROM comprobantes WHERE serie='BRG1' AND numero=1`).Scan(&cdr, &hash); err != nil || cdr == "" || hash == "" {
		t.Errorf("CDR %q hash %q (%v)", cdr, hash, err)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE origen = 'regularizacion' AND efecto = 'aplicado'`); n != 3 {
		t.Errorf("applied from regularization = %d, want 3", n)
	}
	testkit.Eventually(t, 10*time.Second, "three events", func() bool { return len(s.receivedEvents()) == 3 })

	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[1]+"-"+r[2]] = r[3]
	}
	if len(rows) != 3 || got["BRG1-5"] != "no_existe_en_nubefact" || got["BRG1-6"] != "error" {
		t.Errorf("report rows: %v", rows)
	}
}

func TestRegularizarStopsOnAccountErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		codigo int
		hint   string
	}{{10, "NUBEFACT_TOKEN"}, {50, "suspended"}} {
		t.Run(fmt.Sprintf("codigo %d", tt.codigo), func(t *testing.T) {
			t.Parallel()
			s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true})
			for n := 1; n <= 20; n++ {
				s.insertPendiente(2, "BFT1", n)
			}
			s.sim.PorDefecto(simulador.Aceptada)
			s.sim.FallarTodo(tt.codigo)
			out, err := s.regularizar(context.Background(), "--rate", "0", "--concurrency", "1")
			if err == nil || !strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("err = %v, want a stop that says what to fix (%s)", err, tt.hint)
			}
			if calls := s.sim.Llamadas(); calls != 1 {
				t.Errorf("NubeFacT was called %d times after codigo %d, want 1 (stop at once)", calls, tt.codigo)
			}
			if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); n != 0 {
				t.Errorf("%d notifications published", n)
			}
			if !strings.Contains(out, "consulted") {
				t.Errorf("no summary:\n%s", out)
			}
		})
	}
}

// A RUTA that redirects (say, to plain http) is a configuration problem: regularize sends the
// token no further, stops the batch at the first answer and names where the redirect pointed.
func TestRegularizarStopsOnARedirect(t *testing.T) {
	t.Parallel()
	var (
		redirecciones atomic.Int64
		destino       *url.URL
	)
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, prepare: func(p *pipeline) {
		var err error
		if destino, err = url.Parse(p.cfg.NubefactRuta); err != nil { // the simulator, which would answer
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			redirecciones.Add(1)
			http.Redirect(w, r, destino.String(), http.StatusTemporaryRedirect)
		}))
		t.Cleanup(srv.Close)
		p.cfg.NubefactRuta = srv.URL + "/api/v1/redirige"
	}})
	for n := 1; n <= 20; n++ {
		s.insertPendiente(2, "BRD1", n)
	}
	s.sim.PorDefecto(simulador.Aceptada)
	out, err := s.regularizar(context.Background(), "--rate", "0", "--concurrency", "1")
	if err == nil || !strings.Contains(err.Error(), "redirect to http://"+destino.Host) || !strings.Contains(err.Error(), "NUBEFACT_RUTA") {
		t.Fatalf("err = %v, want a stop that names the redirect's target http://%s and NUBEFACT_RUTA", err, destino.Host)
	}
	if strings.Contains(err.Error(), destino.Path) {
		t.Errorf("err = %v reveals the target's path (an account identifier)", err)
	}
	if n := redirecciones.Load(); n != 1 {
		t.Errorf("the redirecting RUTA was called %d times, want 1 (stop at once)", n)
	}
	if n := s.sim.Llamadas(); n != 0 {
		t.Errorf("the redirect's target was called %d times, want 0 (never followed)", n)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); n != 0 {
		t.Errorf("%d notifications published", n)
	}
	if !strings.Contains(out, "consulted") {
		t.Errorf("no summary:\n%s", out)
	}
}

func TestRegularizarRetriesCodigo40(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true})
	s.insertPendiente(2, "BRT1", 1)
	s.sim.Poner(clave("BRT1", 1), simulador.Aceptada)
	s.sim.Fallar(clave("BRT1", 1), 40, 40)

	if out, err := s.regularizar(context.Background(), "--rate", "0"); err != nil {
		t.Fatalf("regularize: %v\n%s", err, out)
	}
	if calls := s.sim.Llamadas(); calls != 3 {
		t.Errorf("calls = %d, want 3 (two codigo 40, then the answer)", calls)
	}
	testkit.Eventually(t, 10*time.Second, "aceptado", func() bool { return s.estado("BRT1", 1) == "aceptado" })
}

func TestRegularizarDryRunPublishesNothing(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true})
	for n := 1; n <= 3; n++ {
		s.insertPendiente(2, "BDR1", n)
	}
	s.sim.PorDefecto(simulador.Aceptada)
	// A rate so high its interval rounds to zero means no limit, not a panic.
	out, err := s.regularizar(context.Background(), "--rate", "1e12", "--dry-run")
	if err != nil {
		t.Fatalf("regularize: %v", err)
	}
	if strings.Count(out, "would publish") != 3 || !strings.Contains(out, "dry run") {
		t.Errorf("dry-run output:\n%s", out)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); n != 0 {
		t.Errorf("dry run published %d notifications", n)
	}
}

func TestRegularizarInterruptedAndRunAgain(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, subscribe: true})
	const total = 200
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero)
		SELECT 2, 'BIN1', g FROM generate_series(1, $1::int) g`, total); err != nil {
		t.Fatal(err)
	}
	s.sim.PorDefecto(simulador.Aceptada)
	s.sim.Latencia(2 * time.Millisecond)

	// Ctrl-C about halfway.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Also ends if the run stops early (it would then fail below, not hang here).
		for s.sim.Llamadas() < total/2 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	out, err := s.regularizar(ctx, "--rate", "0", "--concurrency", "4")
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(out, "interrupted") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	first := s.sim.Llamadas()
	if first >= total {
		t.Fatalf("the interrupted run consulted all %d boletas", first)
	}
	// Let the reconciler apply what the first run published, then finish the job.
	s.waitNoAckPending()
	if out, err := s.regularizar(context.Background(), "--rate", "0", "--concurrency", "8"); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	testkit.Eventually(t, 20*time.Second, "every boleta aceptada and relayed", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE estado = 'aceptado'`) == total &&
			s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); n != total {
		t.Errorf("events = %d, want %d (one per boleta, no duplicates)", n, total)
	}
	testkit.Eventually(t, 10*time.Second, "every event received", func() bool { return len(s.receivedEvents()) == total })
	ids := map[string]bool{}
	for _, r := range s.receivedEvents() {
		ids[r.evento.ID] = true
	}
	if len(ids) != total {
		t.Errorf("distinct event IDs = %d, want %d", len(ids), total)
	}
}

// Ctrl-C while NubeFacT stalls: regularize abandons the calls in flight rather than waiting for
// NUBEFACT_TIMEOUT (an hour here, so that returning at all proves it), ends with a non-zero
// result, counts the abandoned boletas as not consulted and writes no report line for them.
func TestRegularizarInterruptedWithCallsInFlight(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, prepare: func(p *pipeline) { p.cfg.NubefactTimeout = time.Hour }})
	for n := 1; n <= 5; n++ {
		s.insertPendiente(2, "BCV1", n)
	}
	s.sim.PorDefecto(simulador.Aceptada)
	s.sim.Latencia(time.Hour) // answers only when the caller goes away
	report := filepath.Join(t.TempDir(), "no-resueltas.csv")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for s.sim.Llamadas() < 2 && ctx.Err() == nil { // both calls in flight
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	out, err := s.regularizar(ctx, "--rate", "0", "--concurrency", "2", "--report", report)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(out, "(interrupted)") {
		t.Fatalf("err = %v, want an interrupted run (a non-zero exit status)\n%s", err, out)
	}
	resumen := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"consulted 0", "errors 0", "published 0"} {
		if !strings.Contains(resumen, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if n := s.sim.Llamadas(); n != 2 {
		t.Errorf("NubeFacT received %d calls, want the 2 in flight (none retried, none started after Ctrl-C)", n)
	}
	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 1 {
		t.Errorf("report: %v rows %q, want the header alone", err, rows)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); n != 0 {
		t.Errorf("%d notifications published", n)
	}
}

func TestWebhookAndRegularizacionOfTheSameBoleta(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, subscribe: true})
	s.insertPendiente(2, "BWR1", 1)
	s.sim.Poner(clave("BWR1", 1), simulador.Aceptada)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.sim.Webhook(ctx, s.ingest+"/webhooks/nubefact?token="+tokens[0], clave("BWR1", 1), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if out, err := s.regularizar(ctx, "--rate", "0"); err != nil {
		t.Fatalf("regularize: %v\n%s", err, out)
	}
	testkit.Eventually(t, 10*time.Second, "aceptado and relayed", func() bool {
		return s.estado("BWR1", 1) == "aceptado" && s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); n != 1 {
		t.Errorf("applied %d times, want 1", n)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}
}

func TestVerificarWebhooks(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, prepare: func(p *pipeline) { p.cfg.VerifyWebhooks = true }})
	for n := 1; n <= 4; n++ {
		s.insertPendiente(2, "BVF1", n)
	}
	s.sim.Poner(clave("BVF1", 1), simulador.Aceptada)  // confirmed
	s.sim.Poner(clave("BVF1", 2), simulador.Rechazada) // the webhook lies: NubeFacT says rechazada
	s.sim.Poner(clave("BVF1", 3), simulador.NoExiste)  // forged: NubeFacT does not know it
	s.sim.Poner(clave("BVF1", 4), simulador.Aceptada)  // right outcome and hash, forged CDR link

	for n := 1; n <= 4; n++ {
		r := simulador.Respuesta(clave("BVF1", n), simulador.Aceptada)
		if n == 4 {
			r["enlace_del_cdr"] = "https://evil.example/forged.cdr"
		}
		body, _ := json.Marshal(r)
		if code, _ := s.post(body); code != http.StatusOK {
			t.Fatalf("webhook %d: status %d", n, code)
		}
	}
	testkit.Eventually(t, 20*time.Second, "verified outcomes", func() bool {
		return s.estado("BVF1", 1) == "aceptado" && s.estado("BVF1", 2) == "rechazado" && s.estado("BVF1", 4) == "aceptado" &&
			s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BVF1' AND numero = 3`) == 1
	})
	if got := s.estado("BVF1", 3); got != "pendiente" {
		t.Errorf("forged webhook applied: BVF1-3 is %s", got)
	}
	checks := []struct {
		numero         int
		origen, efecto string
	}{
		{1, "webhook", "aplicado"}, {2, "webhook", "conflicto"}, {2, "verificacion", "aplicado"}, {3, "webhook", "conflicto"},
		{4, "verificacion", "aplicado"}, {4, "webhook", "corregido"},
	}
	for _, c := range checks {
		if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BVF1' AND numero = $1 AND origen = $2 AND efecto = $3`, c.numero, c.origen, c.efecto); n != 1 {
			t.Errorf("BVF1-%d: audit rows %s/%s = %d, want 1", c.numero, c.origen, c.efecto, n)
		}
	}
	// What is stored is NubeFacT's answer, and the audit says where the webhook differed.
	var cdr string
	if err := s.pool.QueryRow(context.Background(), `SELECT enlace_del_cdr FROM comprobantes WHERE serie = 'BVF1' AND numero = 4`).Scan(&cdr); err != nil {
		t.Fatal(err)
	}
	if want := simulador.Respuesta(clave("BVF1", 4), simulador.Aceptada)["enlace_del_cdr"]; cdr != want {
		t.Errorf("stored CDR = %q, want NubeFacT's %q", cdr, want)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BVF1' AND numero = 4 AND efecto = 'corregido'
		AND motivo LIKE '%enlace_del_cdr%evil.example/forged.cdr%'`); n != 1 {
		t.Errorf("the corregido audit row does not name the forged field and its value")
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BVF1' AND numero = 1 AND motivo LIKE '%confirmado por NubeFacT%'`); n != 1 {
		t.Errorf("the confirmed webhook's audit row does not say it was confirmed")
	}
	// The genuine webhook, arriving after the forged one, is a duplicate of it: what is stored
	// already is NubeFacT's answer.
	body, _ := json.Marshal(simulador.Respuesta(clave("BVF1", 4), simulador.Aceptada))
	if code, _ := s.post(body); code != http.StatusOK {
		t.Fatalf("genuine webhook: status %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "one event per state change (BVF1-1, -2 and -4)", func() bool {
		return s.count(`SELECT count(*) FROM outbox`) == 0 && testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()) == 3
	})
}

// VERIFY_RATE bounds the calls verification makes: 12 webhooks at 4 calls/s cannot all be
// verified in less than about 11 ticks of 250 ms (a lower bound, which a slow machine only
// lengthens), and each is verified with one call.
func TestVerificarHonoursVerifyRate(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, prepare: func(p *pipeline) { p.cfg.VerifyWebhooks, p.cfg.VerifyRate = true, 4 }})
	const n = 12
	for i := 1; i <= n; i++ {
		s.insertPendiente(2, "BVR1", i)
		s.sim.Poner(clave("BVR1", i), simulador.Aceptada)
	}
	start := time.Now()
	for i := 1; i <= n; i++ {
		body, _ := answerJSON(clave("BVR1", i), simulador.Aceptada)
		if code, _ := s.post(body); code != http.StatusOK {
			t.Fatalf("webhook %d: status %d", i, code)
		}
	}
	testkit.Eventually(t, 30*time.Second, "all verified and applied", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE estado = 'aceptado'`) == n
	})
	took := time.Since(start)
	if took < (n-2)*250*time.Millisecond {
		t.Errorf("%d verifications took %v: faster than VERIFY_RATE=4/s allows", n, took)
	}
	if got := s.sim.Llamadas(); got != n {
		t.Errorf("Operation 2 calls = %d, want %d", got, n)
	}
}

// With VERIFY_WEBHOOKS, a webhook for a comprobante not in the table is parked without asking
// NubeFacT (a comprobante of NubeFacT's panel costs no call and never waits in the consumer),
// and is verified when its comprobante is inserted.
func TestVerificarAparcadaWhenApplied(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, prepare: func(p *pipeline) { p.cfg.VerifyWebhooks = true }})
	s.sim.Poner(clave("BVA1", 1), simulador.Aceptada)
	r := simulador.Respuesta(clave("BVA1", 1), simulador.Aceptada)
	r["enlace_del_cdr"] = "https://evil.example/forged.cdr"
	body, _ := json.Marshal(r)
	if code, _ := s.post(body); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "the webhook parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BVA1'`) == 1
	})
	s.waitNoAckPending()
	if n := s.sim.Llamadas(); n != 0 {
		t.Errorf("NubeFacT was asked %d times about a comprobante that is not ours (yet)", n)
	}
	s.insertPendiente(2, "BVA1", 1)
	testkit.Eventually(t, 10*time.Second, "verified and applied once inserted", func() bool { return s.estado("BVA1", 1) == "aceptado" })
	var cdr string
	if err := s.pool.QueryRow(context.Background(), `SELECT enlace_del_cdr FROM comprobantes WHERE serie = 'BVA1'`).Scan(&cdr); err != nil {
		t.Fatal(err)
	}
	if want := simulador.Respuesta(clave("BVA1", 1), simulador.Aceptada)["enlace_del_cdr"]; cdr != want {
		t.Errorf("stored CDR %q, want NubeFacT's %q", cdr, want)
	}
	efectos := s.column(`SELECT efecto || '/' || origen FROM notificaciones WHERE serie = 'BVA1' ORDER BY id`)
	if strings.Join(efectos, ",") != "aparcado/webhook,aplicado/verificacion,corregido/webhook" {
		t.Errorf("audit = %v, want aparcado/webhook, aplicado/verificacion, corregido/webhook", efectos)
	}
	if n := s.count(`SELECT count(*) FROM aparcadas`); n != 0 {
		t.Errorf("still parked: %d", n)
	}
}

// insertEmitida records a pending boleta issued dias days ago (in Lima).
func (s *pipeline) insertEmitida(serie string, numero, dias int) {
	s.t.Helper()
	dia := estado.DiaEnLima(time.Now()).Antes(dias)
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		VALUES (2, $1, $2, $3)`, serie, numero, dia.Format(time.DateOnly)); err != nil {
		s.t.Fatal(err)
	}
}

type ronda struct {
	iniciada, terminada time.Time
	resultado           string
	total               int64
}

// rondas lists the scheduled runs recorded so far, in order.
func (s *pipeline) rondas() []ronda {
	s.t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT iniciada_en, terminada_en, coalesce(resultado, ''), total
		FROM regularizaciones WHERE origen = 'programada' ORDER BY iniciada_en`)
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ronda, error) {
		var x ronda
		var terminada *time.Time
		err := r.Scan(&x.iniciada, &terminada, &x.resultado, &x.total)
		x.terminada = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) // still running
		if terminada != nil {
			x.terminada = *terminada
		}
		return x, err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// Two reconcilers with a 1 s schedule: each round is run by one of them, and consults each
// boleta pending for longer than REGULARIZE_OLDER_THAN once.
func TestRegularizacionProgramadaConDosReconciliadores(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, reconcilers: 2, noIngest: true, prepare: func(p *pipeline) {
		p.cfg.RegularizeEvery, p.cfg.RegularizeOlderThan, p.cfg.MaxConns, p.cfg.RegularizeRate = time.Second, 48*time.Hour, 6, 0
		for n := 1; n <= 3; n++ {
			p.insertEmitida("BPRG", n, 5) // still in the Resumen Diario at NubeFacT: asked every round
			p.sim.Poner(clave("BPRG", n), simulador.Pendiente)
		}
		p.insertEmitida("BPRG", 4, 0) // issued today: the webhook may still come, never asked
		p.insertEmitida("BPRG", 5, 3) // its webhook was lost: the first round resolves it
		p.sim.Poner(clave("BPRG", 5), simulador.Aceptada)
	}})

	testkit.Eventually(t, 20*time.Second, "four finished scheduled rounds", func() bool {
		n := 0
		for _, r := range s.rondas() {
			if r.resultado != "" {
				n++
			}
		}
		return n >= 4
	})
	s.stopReconcilers()

	rondas := s.rondas()
	completas := 0
	for i, r := range rondas {
		if r.resultado == "completa" {
			completas++
		}
		if i > 0 && r.iniciada.Before(rondas[i-1].terminada) {
			t.Errorf("round %d started at %v, before round %d ended (%v): two reconcilers ran at once", i, r.iniciada, i-1, rondas[i-1].terminada)
		}
		if i > 0 && r.iniciada.Sub(rondas[i-1].iniciada) < 500*time.Millisecond {
			t.Errorf("rounds %d and %d started %v apart: one round was run twice", i-1, i, r.iniciada.Sub(rondas[i-1].iniciada))
		}
	}
	for n := 1; n <= 3; n++ {
		// A round stopped by the shutdown may have asked before it was recorded as interrupted.
		if got := s.sim.LlamadasDe(clave("BPRG", n)); got < completas || got > len(rondas) {
			t.Errorf("BPRG-%d asked %d times in %d rounds (%d complete): want once per round", n, got, len(rondas), completas)
		}
	}
	if got := s.sim.LlamadasDe(clave("BPRG", 4)); got != 0 {
		t.Errorf("a boleta issued today was asked %d times", got)
	}
	if got := s.sim.LlamadasDe(clave("BPRG", 5)); got != 1 {
		t.Errorf("the boleta whose webhook was lost was asked %d times, want 1", got)
	}
	if e := s.estado("BPRG", 5); e != "aceptado" {
		t.Errorf("BPRG-5 is %s, want aceptado", e)
	}
	if rondas[0].total != 4 || rondas[len(rondas)-1].total != 3 {
		t.Errorf("rounds counted %d then %d pending, want 4 then 3", rondas[0].total, rondas[len(rondas)-1].total)
	}
}

// A fatal NubeFacT code stops the round, is recorded and counted, and the next round tries again.
func TestRegularizacionProgramadaAnteUnErrorDeCuenta(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{simulador: true, noIngest: true, prepare: func(p *pipeline) {
		p.cfg.RegularizeEvery, p.cfg.RegularizeOlderThan, p.cfg.MaxConns = time.Second, 48*time.Hour, 6
		p.insertEmitida("BFAT", 1, 6)
		p.sim.Poner(clave("BFAT", 1), simulador.Aceptada)
		p.sim.FallarTodo(10) // the token was deleted in NubeFacT's panel
	}})

	testkit.Eventually(t, 15*time.Second, "two rounds stopped by codigo 10", func() bool {
		return s.count(`SELECT count(*) FROM regularizaciones WHERE origen = 'programada' AND resultado = 'error_cuenta'
			AND detalle LIKE '%codigo 10%'`) >= 2
	})
	testkit.Eventually(t, 10*time.Second, "the metric of rounds stopped by the account", func() bool {
		v, _ := testkit.Scrape(t, s.reconciler+"/metrics").Value("reconciler_regularizaciones_total", map[string]string{"resultado": "error_cuenta"})
		return v >= 2
	})
	if e := s.estado("BFAT", 1); e != "pendiente" {
		t.Fatalf("BFAT-1 is %s while NubeFacT refuses the token, want pendiente", e)
	}
	s.sim.FallarTodo(0) // the token is fixed
	testkit.Eventually(t, 15*time.Second, "the next round to resolve it", func() bool { return s.estado("BFAT", 1) == "aceptado" })
}
