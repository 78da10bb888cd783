package reconciler

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/ingest/natstest"
)

// sharedSistema starts both services on the shared test servers, in a namespace of its own.
func sharedSistema(t *testing.T) *sistema {
	t.Helper()
	s := nuevoSistema(t, natstest.URL(t), natstest.Topologia(t))
	return s
}

func TestE2EWebhookAceptaBoleta(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	s.escuchar()
	s.insertarPendiente(2, "BBB1", 105)

	if code, _ := s.post(seed(t)); code != http.StatusOK {
		t.Fatalf("webhook: status %d, want 200", code)
	}
	eventually(t, 10*time.Second, "row aceptado", func() bool { return s.estado("BBB1", 105) == "aceptado" })

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

	eventually(t, 10*time.Second, "the boleta.aceptada event", func() bool { return len(s.recibidos()) >= 1 })
	eventually(t, 10*time.Second, "outbox relayed", func() bool {
		return s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.mensajesEnStream(s.topo.StreamEventos()); n != 1 {
		t.Errorf("events stream holds %d messages, want exactly 1", n)
	}
	ev := s.recibidos()[0]
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

func TestE2EWebhookRepetidoCincoVecesALaVez(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	s.escuchar()
	s.insertarPendiente(2, "BBB1", 105)

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
	eventually(t, 10*time.Second, "aceptado and the outbox relayed", func() bool {
		return s.estado("BBB1", 105) == "aceptado" && s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); n != 1 {
		t.Errorf("state changes = %d, want 1", n)
	}
	if n := s.mensajesEnStream(s.topo.StreamEventos()); n != 1 {
		t.Errorf("events stream holds %d messages, want 1", n)
	}
	eventually(t, 5*time.Second, "the event", func() bool { return len(s.recibidos()) == 1 })
	ids := map[string]bool{}
	for _, r := range s.recibidos() {
		ids[r.evento.ID] = true
	}
	if len(ids) != 1 {
		t.Errorf("distinct event IDs = %d, want 1", len(ids))
	}
}

func TestE2EEntradaInvalidaNoDejaRastro(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	s.insertarPendiente(2, "BBB1", 105)

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
	if n := s.mensajesEnStream(s.topo.StreamNotificaciones()); n != 0 {
		t.Errorf("notifications stream holds %d messages after invalid input, want 0", n)
	}
	if s.estado("BBB1", 105) != "pendiente" || s.count(`SELECT count(*) FROM notificaciones`) != 0 {
		t.Error("invalid input left a trace in Postgres")
	}
}

const ingest64k = 64 << 10

func TestE2ENATSCaidoResponde503(t *testing.T) {
	t.Parallel()
	ns := nuevoServidorNATS(t)
	s := nuevoSistema(t, ns.url(), contracts.Topologia{Prefijo: "e2e"})
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	s.insertarPendiente(2, "BBB1", 1)
	s.insertarPendiente(2, "BBB1", 2)
	if code, _ := s.post(aceptada("BBB1", 1)); code != http.StatusOK {
		t.Fatalf("with NATS up: status %d", code)
	}

	ns.stop()
	code, h := s.post(aceptada("BBB1", 2))
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("with NATS down: status %d Retry-After %q, want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	if resp, err := http.Get(s.ingest + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ingest /readyz with NATS down: %v %v, want 503", resp.StatusCode, err)
	}

	// NubeFacT retries; once NATS is back, the retried delivery lands.
	ns.start(t)
	eventually(t, 20*time.Second, "a retried delivery to get 200", func() bool {
		code, _ := s.post(aceptada("BBB1", 2))
		return code == http.StatusOK
	})
	eventually(t, 20*time.Second, "both boletas aceptadas", func() bool {
		return s.estado("BBB1", 1) == "aceptado" && s.estado("BBB1", 2) == "aceptado"
	})
}

func TestE2ECaidaEntreCommitYAck(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	cfg := s.reconcilerConfig()
	var crashed atomic.Bool
	cfg.hooks.crashAfterCommit = func() bool { return crashed.CompareAndSwap(false, true) }
	stop := s.arrancarReconciler(cfg)
	s.arrancarIngest()
	s.escuchar()
	s.insertarPendiente(2, "BBB1", 105)

	if code, _ := s.post(seed(t)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	eventually(t, 10*time.Second, "the simulated crash", crashed.Load)
	if err := stop(); !errors.Is(err, errCrash) {
		t.Fatalf("reconciler ended with %v, want the simulated crash", err)
	}
	// Committed, but neither acknowledged nor published.
	if got := s.estado("BBB1", 105); got != "aceptado" {
		t.Fatalf("after the commit the row is %q", got)
	}
	if n := s.count(`SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("unpublished outbox rows = %d, want 1", n)
	}

	// A new instance gets the unacknowledged message again and finds it in the inbox.
	s.arrancarReconciler(s.reconcilerConfig())
	eventually(t, 15*time.Second, "the redelivery recorded as duplicate", func() bool {
		return s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'duplicado'`) == 1
	})
	eventually(t, 10*time.Second, "the outbox relayed", func() bool {
		return s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); n != 1 {
		t.Errorf("state changes = %d, want 1", n)
	}
	eventually(t, 5*time.Second, "the event", func() bool { return len(s.recibidos()) >= 1 })
	if n := s.mensajesEnStream(s.topo.StreamEventos()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}
}

func TestE2EMensajeIndescifrableVaAlDLQ(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	s.insertarPendiente(2, "BBB1", 7)

	ctx := context.Background()
	for _, garbage := range []string{"not json at all", `{"tipo_de_comprobante": 9}`} {
		if _, err := s.js.Publish(ctx, s.topo.SubjectNotificaciones(), []byte(garbage)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _ := s.post(aceptada("BBB1", 7)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	eventually(t, 10*time.Second, "the valid notification applied after the poison", func() bool {
		return s.estado("BBB1", 7) == "aceptado"
	})
	eventually(t, 10*time.Second, "two dead letters", func() bool { return s.mensajesEnStream(s.topo.StreamDLQ()) == 2 })
	st, err := s.js.Stream(ctx, s.topo.StreamDLQ())
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
		vistos[string(m.Data)] = m.Header.Get(contracts.HeaderMotivo)
	}
	if r, ok := vistos["not json at all"]; !ok || !strings.Contains(r, "undecodable") {
		t.Errorf("dead letters: %q", vistos)
	}
	if r, ok := vistos[`{"tipo_de_comprobante": 9}`]; !ok || !strings.Contains(r, "tipo_de_comprobante") {
		t.Errorf("dead letters: %q", vistos)
	}
}

func TestE2EComprobanteQueLlegaTarde(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()

	// The webhook arrives before the billing system has committed the boleta.
	if code, _ := s.post(aceptada("BLT1", 1)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	ctx := context.Background()
	cons, err := s.js.Consumer(ctx, s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "a first attempt", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.Delivered.Consumer >= 1
	})
	s.insertarPendiente(2, "BLT1", 1)
	eventually(t, 15*time.Second, "the retry to apply it", func() bool { return s.estado("BLT1", 1) == "aceptado" })
	if n := s.count(`SELECT count(*) FROM aparcadas`); n != 0 {
		t.Errorf("parked = %d, want 0", n)
	}
}

func TestE2EAparcadaYReenviada(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	cfg := s.reconcilerConfig()
	cfg.UnknownRetries = 3
	s.arrancarReconciler(cfg)
	s.arrancarIngest()

	if code, _ := s.post(aceptada("BPK1", 1)); code != http.StatusOK {
		t.Fatalf("webhook: status %d", code)
	}
	eventually(t, 15*time.Second, "the notification parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas WHERE serie = 'BPK1' AND intentos = 3`) == 1
	})
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aparcado'`); n != 1 {
		t.Errorf("audit rows aparcado = %d, want 1", n)
	}

	// Ops: the boleta is in the table now; list and replay.
	s.insertarPendiente(2, "BPK1", 1)
	var out strings.Builder
	if err := parkedCmd(context.Background(), cfg, false, &out); err != nil || !strings.Contains(out.String(), "2-BPK1-1") {
		t.Fatalf("parked: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := replayCmd(context.Background(), cfg, nil, &out); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if !strings.Contains(out.String(), "1 notification(s) replayed") {
		t.Errorf("replay output: %s", out.String())
	}
	eventually(t, 10*time.Second, "the replayed notification applied", func() bool { return s.estado("BPK1", 1) == "aceptado" })
	if n := s.count(`SELECT count(*) FROM aparcadas WHERE reenviada_en IS NULL`); n != 0 {
		t.Errorf("parked and not replayed = %d, want 0", n)
	}
	if n := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado' AND origen = 'replay'`); n != 1 {
		t.Errorf("applied by replay = %d, want 1", n)
	}
}

func TestE2EPostgresCaidoYVuelve(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	u, err := url.Parse(s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := nuevoProxy(t, u.Host)
	u.Host = px.addr
	cfg := s.reconcilerConfig()
	cfg.DatabaseURL = u.String()
	s.arrancarReconciler(cfg)
	s.arrancarIngest()
	s.insertarPendiente(2, "BPG1", 1)

	px.cortar()
	if code, _ := s.post(aceptada("BPG1", 1)); code != http.StatusOK {
		t.Fatalf("ingest does not need Postgres: status %d", code)
	}
	readyz := func() int {
		resp, err := http.Get("http://" + cfg.Addr + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 10*time.Second, "reconciler not ready", func() bool { return readyz() == http.StatusServiceUnavailable })
	ctx := context.Background()
	cons, err := s.js.Consumer(ctx, s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the notification delivered", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.Delivered.Consumer >= 1
	})
	time.Sleep(time.Second) // let the worker try (and fail) a few times
	if info, err := cons.Info(ctx); err != nil || info.AckFloor.Stream != 0 {
		t.Fatalf("a message was acknowledged while Postgres was down: %+v %v", info.AckFloor, err)
	}
	if got := s.estado("BPG1", 1); got != "pendiente" {
		t.Fatalf("row %q while Postgres was unreachable", got)
	}

	px.restaurar(t)
	eventually(t, 30*time.Second, "recovery on its own", func() bool { return s.estado("BPG1", 1) == "aceptado" })
	eventually(t, 10*time.Second, "ready again", func() bool { return readyz() == http.StatusOK })
}
