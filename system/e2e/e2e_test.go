package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/cli"
	"github.com/hotelpe/boletas/system/testkit"
)

func TestE2EWebhookMakesBoletaAceptado(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{subscribe: true})
	s.insertPendiente(2, "BBB1", 105)

	if code, _ := s.post(seed(t)); code != http.StatusOK {
		t.Fatalf("webhook: status %d, want 200", code)
	}
	testkit.Eventually(t, 10*time.Second, "row aceptado", func() bool { return s.estado("BBB1", 105) == "aceptado" })

	var cdr, pdf, xml, enlace, hash, code, desc string
	var note *string
	var finalEn *time.Time
	err := s.pool.QueryRow(context.Background(), `SELECT enlace_del_cdr, enlace_del_pdf, enlace_del_xml, enlace,
			codigo_hash, sunat_responsecode, sunat_description, sunat_note, estado_final_en
		FROM comprobantes WHERE serie = 'BBB1' AND numero = 105`).Scan(&cdr, &pdf, &xml, &enlace, &hash, &code, &desc, &note, &finalEn)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"enlace_del_cdr":     {cdr, "https://www.nubefact.com/cpe/xxx.cdr"},
		"enlace_del_pdf":     {pdf, "https://www.nubefact.com/cpe/xxx.pdf"},
		"enlace_del_xml":     {xml, "https://www.nubefact.com/cpe/xxx.xml"},
		"enlace":             {enlace, "https://www.nubefact.com/cpe/..."},
		"codigo_hash":        {hash, "xMLFMnbgp1/bHEy572RKRTE9hPY="},
		"sunat_responsecode": {code, "0"},
		"sunat_description":  {desc, "La Boleta de Venta numero BBB1-105, ha sido aceptada"},
	}
	for field, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", field, v[0], v[1])
		}
	}
	if note != nil || finalEn == nil {
		t.Errorf("sunat_note = %v (want NULL), estado_final_en = %v (want set)", note, finalEn)
	}

	testkit.Eventually(t, 10*time.Second, "the boleta.aceptada event", func() bool { return len(s.receivedEvents()) >= 1 })
	testkit.Eventually(t, 10*time.Second, "outbox relayed", func() bool {
		return s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); n != 1 {
		t.Errorf("events stream holds %d messages, want exactly 1", n)
	}
	ev := s.receivedEvents()[0]
	if ev.subject != s.topo.SubjectEvento(contracts.Boleta, contracts.Aceptado) {
		t.Errorf("event subject %q", ev.subject)
	}
	e := ev.evento
	if e.ID != "2-BBB1-105.aceptado" || ev.msgID != e.ID || e.Type != "boleta.aceptada" || e.SpecVersion != "1.0" {
		t.Errorf("envelope: id=%q msg-id=%q type=%q specversion=%q", e.ID, ev.msgID, e.Type, e.SpecVersion)
	}
	d := e.Data
	if d.Version != 1 || d.Serie != "BBB1" || d.Numero != 105 || d.Estado != contracts.Aceptado || d.EstadoAnterior != "pendiente" ||
		deref(d.EnlaceDelCDR) != cdr || deref(d.CodigoHash) != hash || deref(d.SunatResponsecode) != "0" ||
		deref(d.FechaDeEmision) != "2026-11-24" || d.Origen != contracts.OrigenWebhook {
		t.Errorf("event data: %+v", d)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado' AND origen = 'webhook'`); n != 1 {
		t.Errorf("audit rows aplicado = %d, want 1", n)
	}
}

func TestE2EWebhookRepeatedFiveTimesAtOnce(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{subscribe: true})
	s.insertPendiente(2, "BBB1", 105)

	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Go(func() { codes[i], _ = s.post(seed(t)) })
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("delivery %d: status %d, want 200", i, c)
		}
	}
	testkit.Eventually(t, 10*time.Second, "aceptado and the outbox relayed", func() bool {
		return s.estado("BBB1", 105) == "aceptado" && s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); n != 1 {
		t.Errorf("state changes = %d, want 1", n)
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); n != 1 {
		t.Errorf("events stream holds %d messages, want 1", n)
	}
	testkit.Eventually(t, 5*time.Second, "the event", func() bool { return len(s.receivedEvents()) == 1 })
	ids := map[string]bool{}
	for _, r := range s.receivedEvents() {
		ids[r.evento.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("distinct event IDs = %d, want 1", len(ids))
	}
}

func TestE2EInvalidInputLeavesNoTrace(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{})
	s.insertPendiente(2, "BBB1", 105)

	badSerie := strings.Replace(string(seed(t)), `"BBB1"`, `"BB1"`, 1)
	tests := []struct {
		name    string
		body    []byte
		headers map[string]string
		want    int
	}{
		{"wrong token", seed(t), map[string]string{"Authorization": "Bearer not-the-token-at-all"}, http.StatusUnauthorized},
		{"no token", seed(t), nil, http.StatusUnauthorized},
		{"oversized body", []byte(`{"serie":"` + strings.Repeat("x", ingest64k) + `"}`), nil, http.StatusRequestEntityTooLarge},
		{"bad JSON", []byte(`{"tipo_de_comprobante": 2, "serie": "BBB1",`), nil, http.StatusBadRequest},
		{"invalid serie", []byte(badSerie), nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.headers
			if h == nil && tt.name != "no token" {
				h = map[string]string{"Authorization": "Bearer " + tokens[1]}
			}
			if code, _ := s.postWith(tt.body, h, ""); code != tt.want {
				t.Errorf("status %d, want %d", code, tt.want)
			}
		})
	}
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); n != 0 {
		t.Errorf("notifications stream holds %d messages after invalid input, want 0", n)
	}
	if s.estado("BBB1", 105) != "pendiente" || s.count(`SELECT count(*) FROM notificaciones`) != 0 {
		t.Error("invalid input left a trace in Postgres")
	}
}

const ingest64k = 64 << 10

func TestE2ENATSDownAnswers503(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{ownNATS: true})
	s.insertPendiente(2, "BBB1", 1)
	s.insertPendiente(2, "BBB1", 2)
	if code, _ := s.post(aceptada("BBB1", 1)); code != http.StatusOK {
		t.Fatalf("with NATS up: status %d", code)
	}

	s.nats.stop()
	code, h := s.post(aceptada("BBB1", 2))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("with NATS down: status %d Retry-After %q, want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	if resp, err := http.Get(s.ingest + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ingest /readyz with NATS down: %v %v, want 503", resp.StatusCode, err)
	}

	// NubeFacT retries; once NATS is back, the retried delivery lands.
	s.nats.start(t)
	testkit.Eventually(t, 20*time.Second, "a retried delivery to get 200", func() bool {
		code, _ := s.post(aceptada("BBB1", 2))
		return code == http.StatusOK
	})
	testkit.Eventually(t, 20*time.Second, "both boletas aceptadas", func() bool {
		return s.estado("BBB1", 1) == "aceptado" && s.estado("BBB1", 2) == "aceptado"
	})
}

func TestE2EUndecodableMessageIsDeadLettered(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{})
	s.insertPendiente(2, "BBB1", 7)

	ctx := context.Background()
	for _, garbage := range []string{"not json at all", `{"tipo_de_comprobante": 9}`} {
		if _, err := s.js.Publish(ctx, s.topo.SubjectNotificacion(contracts.OrigenWebhook), []byte(garbage)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _ := s.post(aceptada("BBB1", 7)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "the valid notification applied after the poison", func() bool {
		return s.estado("BBB1", 7) == "aceptado"
	})
	testkit.Eventually(t, 10*time.Second, "two dead letters", func() bool { return testkit.StreamMessages(s.t, s.js, s.topo.StreamDeadLetters()) == 2 })
	st, err := s.js.Stream(ctx, s.topo.StreamDeadLetters())
	if err != nil {
		t.Fatal(err)
	}
	// Workers dead-letter concurrently: the copies may be stored in either order.
	vistos := map[string]string{}
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		vistos[string(m.Data)] = m.Header.Get(contracts.CabeceraMotivo)
	}
	if r, ok := vistos["not json at all"]; !ok || !strings.Contains(r, "undecodable") {
		t.Errorf("dead letters: %q", vistos)
	}
	if r, ok := vistos[`{"tipo_de_comprobante": 9}`]; !ok || !strings.Contains(r, "tipo_de_comprobante") {
		t.Errorf("dead letters: %q", vistos)
	}
	// Terminated for good: out of the consumer's pending set (a "+TERM <reason>", which servers
	// before 2.10 ignore, would leave them there to be redelivered forever).
	s.waitNoAckPending()
}

// The webhook arrives before the billing system has committed the boleta: it is acknowledged
// and parked at once, and applied within seconds of the INSERT, however long it waited.
func TestE2EComprobanteInsertedLate(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{subscribe: true})

	for _, tc := range []struct {
		numero int
		espera string // how long the notification has waited when the INSERT comes
	}{{1, "1 minute"}, {2, "21 days"}} {
		if code, _ := s.post(aceptada("BLT1", tc.numero)); code != http.StatusOK {
			t.Fatalf("webhook: status %d", code)
		}
		testkit.Eventually(t, 10*time.Second, "the notification parked", func() bool {
			return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BLT1' AND numero = $1`, tc.numero) == 1
		})
		// Waiting costs nothing in JetStream: the message is acknowledged.
		s.waitNoAckPending()
		if _, err := s.pool.Exec(context.Background(), `UPDATE aparcadas SET aparcada_en = aparcada_en - $1::interval
			WHERE serie = 'BLT1' AND numero = $2`, tc.espera, tc.numero); err != nil {
			t.Fatal(err)
		}
		insert := time.Now()
		s.insertPendiente(2, "BLT1", tc.numero)
		testkit.Eventually(t, 10*time.Second, "the parked notification applied after the INSERT", func() bool {
			return s.estado("BLT1", tc.numero) == "aceptado"
		})
		t.Logf("waited %s: applied %v after the INSERT", tc.espera, time.Since(insert).Round(time.Millisecond))
		testkit.Eventually(t, 10*time.Second, "its event", func() bool {
			for _, r := range s.receivedEvents() {
				if r.evento.ID == fmt.Sprintf("2-BLT1-%d.aceptado", tc.numero) {
					return true
				}
			}
			return false
		})
	}
	if n := s.count(`SELECT count(*) FROM aparcadas`); n != 0 {
		t.Errorf("still parked = %d, want 0", n)
	}
	efectos := s.column(`SELECT efecto FROM notificaciones WHERE serie = 'BLT1' AND numero = 2 ORDER BY id`)
	if strings.Join(efectos, ",") != "aparcado,aplicado" {
		t.Errorf("audit of BLT1-2 = %v, want aparcado then aplicado", efectos)
	}
}

// The reproduction: thousands of notifications for comprobantes that are not in the
// table (NubeFacT notifies the whole account, panel-emitted ones included) must not hold back a
// known boleta behind them, even with JetStream's ack-pending limit below their number.
func TestE2EUnknownComprobantesDoNotHoldBackKnownOnes(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{prepare: func(p *pipeline) {
		p.cfg.MaxAckPending = 1000 // the shipped 5,000 is under a second of webhooks
	}})
	s.insertPendiente(2, "BCN1", 1)

	const desconocidos = 6000
	var wg sync.WaitGroup
	var fallos atomic.Int32
	numeros := make(chan int)
	for range 16 {
		wg.Go(func() {
			for n := range numeros {
				if code, _ := s.post(aceptada("BXX1", n)); code != http.StatusOK {
					fallos.Add(1)
				}
			}
		})
	}
	for n := 1; n <= desconocidos; n++ {
		numeros <- n
	}
	close(numeros)
	wg.Wait()
	if f := fallos.Load(); f > 0 {
		t.Fatalf("%d webhooks for unknown comprobantes did not get 200", f)
	}
	if code, _ := s.post(aceptada("BCN1", 1)); code != http.StatusOK {
		t.Fatalf("known webhook: status %d", code)
	}
	start := time.Now()
	testkit.Eventually(t, 30*time.Second, "the known boleta aceptada behind 6,000 unknown ones", func() bool {
		return s.estado("BCN1", 1) == "aceptado"
	})
	t.Logf("known boleta aceptado %v after its webhook's 200", time.Since(start).Round(time.Millisecond))
	testkit.Eventually(t, 30*time.Second, "every unknown one parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BXX1'`) == desconocidos
	})
	s.waitNoAckPending()
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BXX1' AND efecto = 'aparcado'`); n != desconocidos {
		t.Errorf("audit rows aparcado = %d, want %d", n, desconocidos)
	}
}

// Two reconcilers apply the notifications that waited: each exactly once, with one event.
func TestE2EAparcadasWithTwoReconcilers(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{reconcilers: 2})
	const n = 200
	for i := 1; i <= n; i++ {
		if code, _ := s.post(aceptada("BDR1", i)); code != http.StatusOK {
			t.Fatalf("webhook %d: status %d", i, code)
		}
	}
	testkit.Eventually(t, 20*time.Second, "all parked", func() bool { return s.count(`SELECT count(*) FROM aparcadas`) == n })
	if _, err := s.pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero)
		SELECT 2, 'BDR1', g FROM generate_series(1, $1::int) g`, n); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "all applied and relayed", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE estado = 'aceptado'`) == n &&
			s.count(`SELECT count(*) FROM outbox`) == 0 && s.count(`SELECT count(*) FROM aparcadas`) == 0
	})
	if got := s.count(`SELECT count(*) FROM (SELECT numero FROM notificaciones WHERE efecto = 'aplicado'
		GROUP BY numero HAVING count(*) = 1) x`); got != n {
		t.Errorf("comprobantes applied exactly once = %d, want %d", got, n)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); got != n {
		t.Errorf("events = %d, want %d", got, n)
	}
}

// Ops list what waits, replay it, and discard what will never match.
func TestE2EAparcadaReplayedAndDiscarded(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{prepare: func(p *pipeline) {
		p.cfg.ParkedInterval = time.Hour // only the replay applies it
	}})

	for _, n := range []int{1, 2} {
		if code, _ := s.post(aceptada("BPK1", n)); code != http.StatusOK {
			t.Fatalf("webhook: status %d", code)
		}
	}
	testkit.Eventually(t, 15*time.Second, "the notifications parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BPK1'`) == 2
	})
	var out strings.Builder
	if err := cli.Ejecutar(context.Background(), s.cfg, []string{"parked"}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "2-BPK1-1") ||
		!strings.Contains(out.String(), "WAITING") || !strings.Contains(out.String(), "2 parked notification(s)") {
		t.Fatalf("parked: %v\n%s", err, out.String())
	}

	// BPK1-1 is ours after all: the billing system inserts it and ops replay it.
	s.insertPendiente(2, "BPK1", 1)
	id1 := s.column(`SELECT message_id FROM aparcadas WHERE numero = 1`)[0]
	out.Reset()
	if err := cli.Ejecutar(context.Background(), s.cfg, []string{"replay", id1}, &out, io.Discard); err != nil {
		t.Fatalf("replay: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "the replayed notification applied", func() bool { return s.estado("BPK1", 1) == "aceptado" })
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado' AND origen = 'webhook' AND motivo LIKE '%reenviada%'`); n != 1 {
		t.Errorf("applied by replay = %d, want 1", n)
	}
	testkit.Eventually(t, 10*time.Second, "the replayed one gone from aparcadas", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE numero = 1`) == 0
	})

	// BPK1-2 was emitted from NubeFacT's panel: discard it.
	id2 := s.column(`SELECT message_id FROM aparcadas WHERE numero = 2`)[0]
	out.Reset()
	if err := discard(s.cfg, &out, id2); err == nil || !strings.Contains(err.Error(), "-reason") {
		t.Errorf("discard without -reason: err %v, want one asking for -reason", err)
	}
	if err := discard(s.cfg, &out, "-reason", "emitida desde el panel", id2); err != nil {
		t.Fatalf("discard: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "1 notification(s) discarded") {
		t.Errorf("discard output: %s", out.String())
	}
	if n := s.count(`SELECT count(*) FROM aparcadas`); n != 0 {
		t.Errorf("parked after discard = %d, want 0", n)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE message_id = $1 AND efecto = 'descartado'
		AND motivo LIKE '%emitida desde el panel%'`, id2); n != 1 {
		t.Errorf("audit rows descartado with the reason = %d, want 1", n)
	}
	// A message ID that is not parked is an error naming how many.
	if err := discard(s.cfg, &out, "-reason", "x", "no-such-id"); err == nil ||
		!strings.Contains(err.Error(), "1 of the 1") {
		t.Errorf("discard of an unknown ID: err %v", err)
	}
}

func TestE2EPostgresDownAndBack(t *testing.T) {
	t.Parallel()
	var px *proxy // between the reconciler and Postgres
	s := newPipeline(t, pipelineOptions{prepare: func(p *pipeline) {
		u, err := url.Parse(p.dsn)
		if err != nil {
			t.Fatal(err)
		}
		px = newProxy(t, u.Host)
		u.Host = px.addr
		p.cfg.DatabaseURL = u.String()
	}})
	s.insertPendiente(2, "BPG1", 1)

	px.cut()
	if code, _ := s.post(aceptada("BPG1", 1)); code != http.StatusOK {
		t.Fatalf("ingest does not need Postgres: status %d", code)
	}
	readyz := func() int {
		resp, err := http.Get(s.reconciler + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testkit.Eventually(t, 10*time.Second, "reconciler not ready", func() bool { return readyz() == http.StatusServiceUnavailable })
	ctx := context.Background()
	cons, err := s.js.Consumer(ctx, s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the notification delivered", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.Delivered.Consumer >= 1
	})
	testkit.Eventually(t, 10*time.Second, "the worker tried again (and failed)", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumRedelivered >= 1
	})
	if info, err := cons.Info(ctx); err != nil || info.AckFloor.Stream != 0 {
		t.Fatalf("a message was acknowledged while Postgres was down: %+v %v", info.AckFloor, err)
	}
	if got := s.estado("BPG1", 1); got != "pendiente" {
		t.Fatalf("row %q while Postgres was unreachable", got)
	}

	px.restore(t)
	testkit.Eventually(t, 30*time.Second, "recovery on its own", func() bool { return s.estado("BPG1", 1) == "aceptado" })
	testkit.Eventually(t, 10*time.Second, "ready again", func() bool { return readyz() == http.StatusOK })
}

// A batch that keeps failing while Postgres answers (here a trigger raising a non-data error
// for one boleta) is retried a few times, then split: the others are applied, and the one that
// still fails on its own is dead-lettered instead of being retried forever.
func TestE2EBatchFailingWithoutADataErrorIsSplit(t *testing.T) {
	t.Parallel()
	// The rows and the trigger are there before the reconciler starts.
	s := newPipeline(t, pipelineOptions{prepare: func(p *pipeline) {
		for n := 1; n <= 3; n++ {
			p.insertPendiente(2, "BFS1", n)
		}
		for _, q := range []string{
			`CREATE FUNCTION envenenar() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'simulated failure for 2-BFS1-2'; END; $$`,
			`CREATE TRIGGER envenenar BEFORE UPDATE ON comprobantes FOR EACH ROW
		WHEN (NEW.serie = 'BFS1' AND NEW.numero = 2) EXECUTE FUNCTION envenenar()`,
		} {
			if _, err := p.pool.Exec(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
	}})
	for n := 1; n <= 3; n++ {
		if code, _ := s.post(aceptada("BFS1", n)); code != http.StatusOK {
			t.Fatalf("webhook %d: status %d", n, code)
		}
	}
	testkit.Eventually(t, 30*time.Second, "the other two applied and the failing one dead-lettered", func() bool {
		return s.estado("BFS1", 1) == "aceptado" && s.estado("BFS1", 3) == "aceptado" &&
			testkit.StreamMessages(s.t, s.js, s.topo.StreamDeadLetters()) == 1
	})
	if got := s.estado("BFS1", 2); got != "pendiente" {
		t.Errorf("BFS1-2 is %s, want pendiente", got)
	}
	s.waitNoAckPending()
}

// A stream at its STREAM_MAX_BYTES refuses new notifications: ingest answers 503 (NubeFacT
// retries), never 200 for a message the stream did not store.
func TestE2EStreamFullAnswers503(t *testing.T) {
	t.Parallel()
	// A server of its own, of the version production runs: nats-server 2.9 (Debian's, the
	// shared test server) checks DiscardNew against the message's size without the store's
	// per-message overhead, and a message that lands in that gap of some 70 bytes is stored by
	// evicting the oldest, acknowledged all the same (docs/durability.md).
	s := newPipeline(t, pipelineOptions{ownNATS: true, prepare: func(p *pipeline) { p.cfg.StreamMaxBytes = 1 << 20 }})
	nota := strings.Repeat("observación ", 4000) // ~50 KB per notification
	ok, refused := 0, 0
	for n := 1; n <= 40 && refused == 0; n++ {
		body := fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BFU1","numero":%d,"aceptada_por_sunat":true,
			"sunat_responsecode":"4000","sunat_note":%q,"codigo_hash":"h%d="}`, n, nota, n)
		code, h := s.post(body)
		switch code {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			refused++
			if h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		default:
			t.Fatalf("webhook %d: status %d", n, code)
		}
	}
	if refused == 0 {
		t.Fatalf("%d webhooks of ~50 KB all got 200 with STREAM_MAX_BYTES=1MiB", ok)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamNotificaciones()); got != uint64(ok) {
		t.Errorf("stream holds %d notifications, ingest answered 200 to %d", got, ok)
	}
}

// discard runs `reconciler discard args...` with cfg as its configuration.
func discard(cfg reconciler.Config, stdout io.Writer, args ...string) error {
	return cli.Ejecutar(context.Background(), cfg, append([]string{"discard"}, args...), stdout, io.Discard)
}

// ENLACE_HOSTS holds in the reconciler too: a notification that reached the stream by another
// way than ingest (published by hand, replayed) with a link elsewhere is dead-lettered, not
// stored; and an entry that can never match stops the reconciler at start.
func TestE2EEnlaceHostsInTheReconciler(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{noIngest: true, prepare: func(p *pipeline) {
		p.cfg.EnlaceHosts = []string{"www.nubefact.com"}
	}})
	s.insertPendiente(2, "BEH1", 1)
	s.insertPendiente(2, "BEH1", 2)
	ctx := context.Background()
	fuera := strings.Replace(string(aceptada("BEH1", 1)), "https://www.nubefact.com/cpe/BEH1-1.cdr", "https://evil.example/forged.cdr", 1)
	for _, body := range []string{fuera, string(aceptada("BEH1", 2))} {
		if _, err := s.js.Publish(ctx, s.topo.SubjectNotificacion(contracts.OrigenWebhook), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the allowed one applied and the other dead-lettered", func() bool {
		return s.estado("BEH1", 2) == "aceptado" && testkit.StreamMessages(s.t, s.js, s.topo.StreamDeadLetters()) == 1
	})
	if got := s.estado("BEH1", 1); got != "pendiente" {
		t.Errorf("BEH1-1 with a link outside ENLACE_HOSTS is %s, want pendiente", got)
	}

	bad := s.reconcilerConfig()
	bad.EnlaceHosts = []string{"https://www.nubefact.com/"}
	if err := reconciler.Run(ctx, bad, testLogger(t, "reconciler")); err == nil || !strings.Contains(err.Error(), "ENLACE_HOSTS") {
		t.Errorf("Run with a URL in ENLACE_HOSTS: %v, want an error naming ENLACE_HOSTS", err)
	}
}

// A CDR that arrives late, end to end: the first webhook has no CDR link, a second one with the
// same outcome and hash brings it. The row gets it, and subscribers hear of it once, on
// boleta.actualizada.
func TestE2ELateCDRPublishesActualizada(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{subscribe: true})
	s.insertPendiente(2, "BCT1", 1)
	completo := aceptada("BCT1", 1)
	sinCDR := []byte(strings.Replace(string(completo), `"https://www.nubefact.com/cpe/BCT1-1.cdr"`, `""`, 1))
	// The late CDR comes later: after the acceptance was applied (two workers may otherwise apply
	// them in either order, and the one with the CDR first leaves nothing to complete).
	if code, _ := s.post(sinCDR); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	testkit.Eventually(t, 10*time.Second, "the acceptance applied", func() bool { return s.estado("BCT1", 1) == "aceptado" })
	for range 2 { // the late CDR, and NubeFacT's retry of it
		if code, _ := s.post(completo); code != http.StatusOK {
			t.Fatalf("webhook: status %d", code)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the acceptance and the completion published", func() bool { return len(s.receivedEvents()) >= 2 })
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE serie = 'BCT1'`); n != 2 {
		t.Errorf("audit rows = %d, want 2 (the retry is dropped as a duplicate)", n)
	}
	var tipos []string
	for _, r := range s.receivedEvents() {
		tipos = append(tipos, r.evento.Type+" "+r.evento.ID)
	}
	want := []string{"boleta.aceptada 2-BCT1-1.aceptado", "boleta.actualizada 2-BCT1-1.aceptado.completado.enlace_del_cdr"}
	if strings.Join(tipos, ",") != strings.Join(want, ",") {
		t.Errorf("events = %v, want %v", tipos, want)
	}
	var cdr string
	if err := s.pool.QueryRow(context.Background(), `SELECT enlace_del_cdr FROM comprobantes WHERE serie = 'BCT1'`).Scan(&cdr); err != nil || cdr != "https://www.nubefact.com/cpe/BCT1-1.cdr" {
		t.Errorf("stored CDR %q (%v), want the late one", cdr, err)
	}
}

// Postgres that answers but refuses every write (here: read-only, as a standby after a failover;
// a full disk behaves alike) is waited out: nothing is dead-lettered, and the notification is
// applied once writes work again.
func TestE2EPostgresReadOnlyIsWaitedOut(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{})
	s.insertPendiente(2, "BRO1", 1)
	ctx := context.Background()
	var db string
	if err := s.pool.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	soloLectura := func(on bool) {
		t.Helper()
		q := fmt.Sprintf(`ALTER DATABASE %q RESET default_transaction_read_only`, db)
		if on {
			q = fmt.Sprintf(`ALTER DATABASE %q SET default_transaction_read_only = on`, db)
		}
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
		// Sessions take the setting when they start: end the reconciler's.
		if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'reconciler'`); err != nil {
			t.Fatal(err)
		}
	}
	soloLectura(true)
	t.Cleanup(func() { soloLectura(false) })
	if code, _ := s.post(aceptada("BRO1", 1)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	cons, err := s.js.Consumer(ctx, s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, "several refused attempts", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumRedelivered >= 1 && info.Delivered.Consumer >= 3
	})
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamDeadLetters()); n != 0 {
		t.Fatalf("dead letters while Postgres was read-only: %d, want 0", n)
	}
	soloLectura(false)
	testkit.Eventually(t, 60*time.Second, "applied once Postgres takes writes again", func() bool { return s.estado("BRO1", 1) == "aceptado" })
	if n := testkit.StreamMessages(s.t, s.js, s.topo.StreamDeadLetters()); n != 0 {
		t.Errorf("dead letters = %d, want 0", n)
	}
}

// Two reconcilers share the durable consumer: every boleta is applied once, with one event.
func TestE2ETwoReconcilers(t *testing.T) {
	t.Parallel()
	s := newPipeline(t, pipelineOptions{reconcilers: 2})
	const n = 60
	for i := 1; i <= n; i++ {
		s.insertPendiente(2, "BDS1", i)
	}
	for i := 1; i <= n; i++ {
		for range 2 { // each delivered twice
			if code, _ := s.post(aceptada("BDS1", i)); code != 200 {
				t.Fatalf("webhook %d: status %d", i, code)
			}
		}
	}
	testkit.Eventually(t, 20*time.Second, "all aceptadas and relayed", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE estado = 'aceptado'`) == n &&
			s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if got := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); got != n {
		t.Errorf("state changes = %d, want %d", got, n)
	}
	if got := testkit.StreamMessages(s.t, s.js, s.topo.StreamEventos()); got != n {
		t.Errorf("events = %d, want %d", got, n)
	}
}
