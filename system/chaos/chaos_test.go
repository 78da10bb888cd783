//go:build chaos

package chaos

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	boletasPorEscenario = 5000
	workers             = 48
	token               = "chaos-webhook-token-0123456789"
	simToken            = "chaos-sim-token-0123456789"
)

type suite struct {
	t          *testing.T
	dir, bin   string
	pg         *clusterPG
	standby    *clusterPG          // the cluster layout: pg's synchronous standby
	nats       *natsserver.Server  // the single-node layout
	cluster    *natsserver.Cluster // the cluster layout
	natsURL    string              // every node
	dsn        string              // every Postgres host, asking for the primary
	pool       *pgxpool.Pool
	ingests    []*process.Child
	ingestURLs []string
	recs       []*process.Child
	recAddrs   []string
	js         jetstream.JetStream
	topo       contracts.Topologia
	simURL     string
	passwords  map[string]string // each identity's NATS password

	mu     sync.Mutex
	events map[string]map[string]int // "serie-numero" → event ID → copies
	rows   []row
}

// row is one line of the scenario table.
type row struct {
	scenario                         string
	sent, ok200, r503                int64
	aceptados, wanted                int
	appliedTwice, wrongEvents, total int
	copies                           int // event messages received, same-ID copies included
	lost                             int
	noAnswer                         time.Duration // the longest window in which no delivery got its 200
	catchUp                          time.Duration
	notes                            string
}

func TestChaos(t *testing.T) {
	seed := chaosSeed(t)
	s := newSuite(t, layout{})
	t.Logf("seed %d (replay with CHAOS_SEED=%d); logs in %s", seed, seed, s.dir)

	t.Run("1 reconciler SIGKILL x6", func(t *testing.T) { s.scenarioKillReconciler(t, seed+1) })
	t.Run("2 NATS killed and restarted", func(t *testing.T) { s.scenarioNATS(t, seed+2) })
	t.Run("3 PostgreSQL stopped 10s", func(t *testing.T) { s.scenarioPostgres(t, seed+3) })
	t.Run("4 poison and hostile input", func(t *testing.T) { s.scenarioPoison(t, seed+4) })
	t.Run("5 regularization with webhooks", func(t *testing.T) { s.scenarioRegularizacion(t, seed+5) })
	s.report(seed, "chaos-report.md")
}

// chaosSeed is CHAOS_SEED, or the suite's usual seed.
func chaosSeed(t *testing.T) uint64 {
	seed := uint64(20261126)
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
		seed = n
	}
	return seed
}

// layout is what the suite runs on: one NATS server, one Postgres, one ingest, or a 3-node
// JetStream cluster with R3 streams, a Postgres primary with a synchronous standby and two
// ingest instances. Both have two reconcilers.
type layout struct {
	cluster bool
}

func newSuite(t *testing.T, l layout) *suite {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{t: t, bin: filepath.Join(root, "bin"), events: map[string]map[string]int{}}
	for _, b := range []string{"ingest", "reconciler", "nats-server"} {
		if _, err := os.Stat(filepath.Join(s.bin, b)); err != nil {
			t.Fatalf("bin/%s missing: run `make chaos` (it builds them)", b)
		}
	}
	if s.dir, err = os.MkdirTemp("", "boletas-chaos-"); err != nil {
		t.Fatal(err)
	}
	// Registered first, so it runs last, after every process is stopped: the logs and the data
	// directories stay only when something failed.
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(s.dir)
		}
	})
	ctx, cancel := ctxTimeout(3 * time.Minute) // the whole setup
	defer cancel()
	replicas, ingests, publishTimeout := "1", 1, "3s"
	// NATS runs the shipped configuration (deploy/nats: its durability setting and its
	// permissions.conf) with a fresh password per identity, so every process connects as its own.
	s.passwords = map[string]string{}
	var env []string
	for _, role := range []string{"ingest", "reconciler", "ops", "subscriber", "admin"} {
		s.passwords[role] = randomHex()
		env = append(env, "NATS_"+strings.ToUpper(role)+"_PASSWORD="+s.passwords[role])
	}
	recIdentity := []string{"NATS_USER=reconciler", "NATS_PASSWORD=" + s.passwords["reconciler"]}
	ingestIdentity := []string{"NATS_USER=ingest", "NATS_PASSWORD=" + s.passwords["ingest"]}
	deploy := filepath.Join(root, "deploy", "nats")
	if l.cluster {
		// The nodes of deploy/nats/cluster/, their routes authenticated with a password too.
		env = append(env, "NATS_ROUTE_PASSWORD="+randomHex())
		if s.cluster, err = natsserver.StartShippedCluster(ctx, filepath.Join(s.bin, "nats-server"), s.dir, deploy, env); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.cluster.Kill)
		s.natsURL = s.cluster.URL()
		s.pg, s.standby = newPGReplicated(t, s.dir)
		// What the compose profile cluster sets (docs/scale-out.md).
		replicas, ingests, publishTimeout = "3", 2, "10s"
		s.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write",
			s.pg.port, s.standby.port)
	} else {
		if s.nats, err = natsserver.StartShipped(ctx, filepath.Join(s.bin, "nats-server"), s.dir, deploy, env); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.nats.Kill)
		s.natsURL = s.nats.URL()
		s.pg = newPGCluster(t, s.dir)
		s.dsn = s.pg.dsn("postgres")
	}

	sim := simulador.New(simToken)
	sim.PorDefecto(simulador.Aceptada)
	sim.Latencia(5 * time.Millisecond)
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	s.simURL = simSrv.URL + sim.Ruta

	if s.pool, err = pgxpool.New(ctx, s.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.pool.Close)

	for i := range 2 {
		r := &process.Child{Name: "reconciler-" + strconv.Itoa(i), Path: filepath.Join(s.bin, "reconciler"),
			Log: filepath.Join(s.dir, fmt.Sprintf("reconciler-%d.log", i)),
			Env: append([]string{"DATABASE_URL=" + s.dsn, "NATS_URL=" + s.natsURL, "STREAM_REPLICAS=" + replicas,
				"NUBEFACT_RUTA=" + s.simURL, "NUBEFACT_TOKEN=" + simToken, "LOG_LEVEL=warn", "METRICS_ADDR=127.0.0.1:0"}, recIdentity...)}
		addr, err := r.StartOnFreePort(ctx, "RECONCILER_ADDR", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Stop(20 * time.Second) })
		s.recs, s.recAddrs = append(s.recs, r), append(s.recAddrs, addr)
	}
	for i := range ingests {
		in := &process.Child{Name: "ingest-" + strconv.Itoa(i), Path: filepath.Join(s.bin, "ingest"),
			Log: filepath.Join(s.dir, fmt.Sprintf("ingest-%d.log", i)),
			Env: append([]string{"NATS_URL=" + s.natsURL, "WEBHOOK_TOKENS=" + token, "LOG_LEVEL=warn", "METRICS_ADDR=127.0.0.1:0",
				"PUBLISH_TIMEOUT=" + publishTimeout}, ingestIdentity...)}
		addr, err := in.StartOnFreePort(ctx, "INGEST_ADDR", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Stop(20 * time.Second) })
		s.ingests, s.ingestURLs = append(s.ingests, in), append(s.ingestURLs, "http://"+addr)
	}

	// The suite reads the notifications and the dead letters, and injects poison, as an operator
	// with the admin identity could; it hears the events as a subscriber.
	s.js = s.connect(t, "admin")
	s.subscribe(ctx, s.connect(t, "subscriber"))
	return s
}

// connect connects to NATS as role, reconnecting forever.
func (s *suite) connect(t *testing.T, role string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.natsURL, nats.Name("chaos-"+role), nats.UserInfo(role, s.passwords[role]),
		nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return js
}

// subscribe records every event, as a subscriber would, through an ordered consumer that
// survives the NATS restart.
func (s *suite) subscribe(ctx context.Context, js jetstream.JetStream) {
	cons, err := js.OrderedConsumer(ctx, s.topo.StreamEventos(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		s.t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var ev contracts.Evento
		if json.Unmarshal(m.Data(), &ev) != nil {
			return
		}
		k := fmt.Sprintf("%s-%d", ev.Data.Serie, ev.Data.Numero)
		s.mu.Lock()
		if s.events[k] == nil {
			s.events[k] = map[string]int{}
		}
		s.events[k][ev.ID]++
		s.mu.Unlock()
	})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(cc.Stop)
}

// webhookURLs are where NubeFacT delivers: one URL per ingest instance, as a load balancer
// would spread them.
func (s *suite) webhookURLs() []string {
	var urls []string
	for _, u := range s.ingestURLs {
		urls = append(urls, u+"/webhooks/nubefact?token="+token)
	}
	return urls
}

func (s *suite) insertPendientes(t *testing.T, serie string, n int) {
	t.Helper()
	ctx, cancel := ctxTimeout(time.Minute)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		SELECT 2, $1, g, current_date - 2 FROM generate_series(1, $2::int) g`, serie, n); err != nil {
		t.Fatal(err)
	}
}

func (s *suite) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	ctx, cancel := ctxTimeout(30 * time.Second)
	defer cancel()
	var n int
	// The metrics pool itself reconnects after the Postgres scenario.
	testkit.EventuallyNoError(t, 10*time.Second, "query "+q, func() error { return s.pool.QueryRow(ctx, q, args...).Scan(&n) })
	return n
}

// waitCaughtUp waits until every boleta of the serie is aceptado, every event is relayed and
// received, and returns when that happened.
func (s *suite) waitCaughtUp(t *testing.T, serie string, n int) time.Time {
	t.Helper()
	next := time.Now().Add(2 * time.Second)
	var caughtUp time.Time
	err := testkit.Poll(5*time.Minute, func() error {
		aceptados, outbox, events := s.count(t, `SELECT count(*) FROM comprobantes WHERE serie = $1 AND estado = 'aceptado'`, serie),
			s.count(t, `SELECT count(*) FROM outbox`), s.eventsOf(serie)
		if aceptados == n && outbox == 0 && events == n {
			caughtUp = time.Now()
			return nil
		}
		if time.Now().After(next) { // where a slow catch-up spends its time
			t.Logf("catching up: %d/%d aceptado, %d events in the outbox, %d/%d received", aceptados, n, outbox, events, n)
			next = time.Now().Add(2 * time.Second)
		}
		return fmt.Errorf("%d aceptados, %d events in the outbox, %d with events", aceptados, outbox, events)
	})
	if err != nil {
		t.Errorf("serie %s not caught up after 5 minutes: %v", serie, err)
		return time.Now()
	}
	return caughtUp
}

func (s *suite) eventsOf(serie string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.events {
		if strings.HasPrefix(k, serie+"-") {
			n++
		}
	}
	return n
}

// measure checks the invariants for the serie and records the scenario's line.
func (s *suite) measure(t *testing.T, name, serie string, n int, rem *sender, lastFault time.Time, notes string) {
	t.Helper()
	alDia := s.waitCaughtUp(t, serie, n)
	// From the last fault or the last 200, whichever came later: how long the system took to
	// settle once nothing was failing and nothing more was arriving.
	settled := lastFault
	if l := rem.last200(); l.After(settled) {
		settled = l
	}
	f := row{scenario: name, sent: rem.sent.Load(), ok200: rem.ok200.Load(), r503: rem.r503.Load(),
		wanted: n, catchUp: alDia.Sub(settled), notes: notes, noAnswer: rem.longestWithout200()}
	f.aceptados = s.count(t, `SELECT count(*) FROM comprobantes WHERE serie = $1 AND estado = 'aceptado'`, serie)
	f.appliedTwice = s.count(t, `SELECT count(*) FROM (SELECT numero FROM notificaciones WHERE serie = $1 AND efecto = 'aplicado'
		GROUP BY numero HAVING count(*) > 1) x`, serie)
	s.mu.Lock()
	for k, ids := range s.events {
		if strings.HasPrefix(k, serie+"-") {
			f.total += len(ids)
			for _, c := range ids {
				f.copies += c
			}
			if len(ids) != 1 {
				f.wrongEvents++
			}
		}
	}
	s.mu.Unlock()
	// Lost: answered 200 but missing from the notifications stream, or neither applied, parked
	// nor recorded as a duplicate in Postgres (every processed notification has an audit row
	// under its message ID).
	inStream := s.notificationIDs(t)
	vistos := map[string]bool{}
	ctx, cancel := ctxTimeout(time.Minute)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT message_id FROM notificaciones`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		vistos[id] = true
	}
	rows.Close()
	var notRead []string
	rem.mu.Lock()
	for id := range rem.got200 {
		switch {
		case !vistos[id]:
			f.lost++
		case !inStream[id]:
			notRead = append(notRead, id)
		}
	}
	sinEntregar := len(rem.undelivered)
	rem.mu.Unlock()
	// A message the read did not see is asked for at the sequence the audit recorded for it:
	// gone from there, it is lost.
	gone := 0
	for _, id := range notRead {
		var seq int64
		err := s.pool.QueryRow(ctx, `SELECT coalesce(min(stream_seq), 0) FROM notificaciones WHERE message_id = $1`, id).Scan(&seq)
		if err != nil || seq == 0 || !s.inStreamAt(ctx, uint64(seq), id) {
			gone++
		}
	}
	f.lost += gone
	if len(notRead) > 0 {
		t.Logf("%d notifications answered 200 were not in the read of the stream; asked one by one, %d are gone", len(notRead), gone)
	}
	if sinEntregar > 0 {
		t.Errorf("%d deliveries never got 200 within the bound", sinEntregar)
	}
	if f.aceptados != n || f.appliedTwice != 0 || f.wrongEvents != 0 || f.lost != 0 {
		t.Errorf("invariants broken: %+v", f)
	}
	s.mu.Lock()
	s.rows = append(s.rows, f)
	s.mu.Unlock()
	t.Logf("%s: sent %d, 200 %d, 503 %d, aceptado %d/%d, applied twice %d, boletas with ≠1 event ID %d, lost %d, longest without a 200 %v, catch-up %v",
		name, f.sent, f.ok200, f.r503, f.aceptados, n, f.appliedTwice, f.wrongEvents, f.lost,
		f.noAnswer.Round(10*time.Millisecond), f.catchUp.Round(10*time.Millisecond))
}

func (s *suite) scenarioKillReconciler(t *testing.T, seed uint64) {
	const serie = "BC01"
	s.insertPendientes(t, serie, boletasPorEscenario)
	rem := newSender(s.webhookURLs(), workers)
	rng := rand.New(rand.NewPCG(seed, 7))
	var ultima time.Time
	kills := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for kills < 6 {
			time.Sleep(time.Duration(500+rng.IntN(2000)) * time.Millisecond)
			i := rng.IntN(len(s.recs))
			s.recs[i].Kill()
			kills++
			time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
			if err := s.recs[i].Start(); err != nil {
				t.Error(err)
			}
			ultima = time.Now()
		}
	}()
	rem.send(context.Background(), seed, deliveries(serie, boletasPorEscenario), 0.2, workers)
	<-done
	for _, addr := range s.recAddrs {
		if err := ready.HTTP(context.Background(), "http://"+addr+"/readyz", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s.measure(t, "1 reconciler SIGKILL", serie, boletasPorEscenario, rem, ultima, fmt.Sprintf("%d SIGKILLs", kills))
}

func (s *suite) scenarioNATS(t *testing.T, seed uint64) {
	const serie = "BC02"
	s.insertPendientes(t, serie, boletasPorEscenario)
	rem := newSender(s.webhookURLs(), workers)
	var caida, vuelta time.Time
	noListo := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(2 * time.Second)
		s.nats.Kill()
		caida = time.Now()
		for time.Since(caida) < 5*time.Second {
			if resp, err := http.Get(s.ingestURLs[0] + "/readyz"); err == nil {
				noListo = noListo || resp.StatusCode == http.StatusServiceUnavailable
				resp.Body.Close()
			}
			time.Sleep(200 * time.Millisecond)
		}
		vuelta = time.Now()
		if err := s.nats.Restart(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	rem.send(context.Background(), seed, deliveries(serie, boletasPorEscenario), 0.2, workers)
	<-done
	mentiras := rem.count200(caida, vuelta)
	if mentiras != 0 {
		t.Errorf("%d webhooks answered 200 while NATS was down", mentiras)
	}
	if !noListo {
		t.Error("ingest never reported not ready while NATS was down")
	}
	s.measure(t, "2 NATS SIGKILL + restart", serie, boletasPorEscenario, rem, vuelta,
		fmt.Sprintf("down %v; 200s while down: %d", vuelta.Sub(caida).Round(100*time.Millisecond), mentiras))
}

func (s *suite) scenarioPostgres(t *testing.T, seed uint64) {
	const serie = "BC03"
	s.insertPendientes(t, serie, boletasPorEscenario)
	rem := newSender(s.webhookURLs(), workers)
	var vuelta time.Time
	noListo := make([]bool, len(s.recs))
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(2 * time.Second)
		if err := s.pg.stop(); err != nil {
			t.Error(err)
		}
		caida := time.Now()
		for time.Since(caida) < 10*time.Second {
			for i, a := range s.recAddrs {
				if resp, err := http.Get("http://" + a + "/readyz"); err == nil {
					noListo[i] = noListo[i] || resp.StatusCode == http.StatusServiceUnavailable
					resp.Body.Close()
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err := s.pg.start(); err != nil {
			t.Error(err)
		}
		vuelta = time.Now()
	}()
	rem.send(context.Background(), seed, deliveries(serie, boletasPorEscenario), 0.2, workers)
	<-done
	for i, nl := range noListo {
		if !nl {
			t.Errorf("reconciler %d never reported not ready while Postgres was down", i)
		}
	}
	s.measure(t, "3 PostgreSQL stopped 10 s", serie, boletasPorEscenario, rem, vuelta, "both reconcilers reported not ready")
}

func (s *suite) scenarioPoison(t *testing.T, seed uint64) {
	const serie, desconocida = "BC04", "BU04"
	s.insertPendientes(t, serie, boletasPorEscenario)
	ctx, cancel := ctxTimeout(5 * time.Minute)
	defer cancel()
	dlq0 := s.streamMessages(t, s.topo.StreamDeadLetters())
	rem := newSender(s.webhookURLs(), workers)
	carga := deliveries(serie, boletasPorEscenario)
	// 100 notifications for comprobantes the billing system never recorded.
	carga = append(carga, deliveries(desconocida, 100)...)
	var wg sync.WaitGroup
	wg.Go(func() { rem.send(ctx, seed, carga, 0.2, workers) })
	// 50 undecodable messages straight into the stream.
	for i := range 50 {
		if _, err := s.js.Publish(ctx, s.topo.SubjectNotificacion(contracts.OrigenWebhook), []byte(fmt.Sprintf(`{"poison": %d`, i))); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	alDia := s.waitCaughtUp(t, serie, boletasPorEscenario)
	// 100 contradictions: another codigo_hash for boletas already aceptadas.
	var contra [][]delivery
	for i := 1; i <= 100; i++ {
		c := contracts.Clave{TipoDeComprobante: 2, Serie: serie, Numero: i}
		r := simulador.Respuesta(c, simulador.Aceptada)
		r["codigo_hash"] = "FORGED" + strconv.Itoa(i) + "=="
		body, _ := json.Marshal(r)
		n, _ := contracts.Decode(body)
		contra = append(contra, []delivery{{clave: c, body: body, id: contracts.MessageID(n)}})
	}
	rem.send(ctx, seed+1, contra, 0, workers)
	var dlq, parked, conflictos int
	if err := testkit.Poll(2*time.Minute, func() error {
		dlq = int(s.streamMessages(t, s.topo.StreamDeadLetters()) - dlq0)
		parked = s.count(t, `SELECT count(*) FROM aparcadas WHERE serie = $1`, desconocida)
		conflictos = s.count(t, `SELECT count(*) FROM notificaciones WHERE serie = $1 AND efecto = 'conflicto'`, serie)
		if dlq != 50 || parked != 100 || conflictos != 100 {
			return fmt.Errorf("dead letters %d/50, parked %d/100, conflicts %d/100", dlq, parked, conflictos)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if n := s.count(t, `SELECT count(*) FROM comprobantes WHERE serie = $1 AND codigo_hash LIKE 'FORGED%'`, serie); n != 0 {
		t.Errorf("%d contradictions were applied", n)
	}
	s.measure(t, "4 poison and hostile input", serie, boletasPorEscenario, rem, alDia,
		fmt.Sprintf("DLQ %d/50, parked %d/100, conflicts %d/100", dlq, parked, conflictos))
}

func (s *suite) scenarioRegularizacion(t *testing.T, seed uint64) {
	const serie = "BC05"
	s.insertPendientes(t, serie, boletasPorEscenario)
	rem := newSender(s.webhookURLs(), workers)
	var out strings.Builder
	var regErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		cmd := exec.Command(filepath.Join(s.bin, "reconciler"), "regularize", "--serie", serie, "--concurrency", "16", "--rate", "0")
		cmd.Env = append(os.Environ(), s.recs[0].Env...)
		cmd.Stdout, cmd.Stderr = &out, &out
		regErr = cmd.Run()
	})
	rem.send(context.Background(), seed, deliveries(serie, boletasPorEscenario), 0.2, workers)
	wg.Wait()
	if regErr != nil {
		t.Errorf("regularize: %v\n%s", regErr, out.String())
	}
	webhook := s.count(t, `SELECT count(*) FROM notificaciones WHERE serie = $1 AND efecto = 'aplicado' AND origen = 'webhook'`, serie)
	s.measure(t, "5 regularization + webhooks", serie, boletasPorEscenario, rem, time.Now(),
		fmt.Sprintf("applied from webhook %d, from regularization %d", webhook, boletasPorEscenario-webhook))
}

// notificationIDs reads the notifications stream from the start up to its last sequence, as
// the stream's leader reports it, and returns the Nats-Msg-Id of every message in it.
func (s *suite) notificationIDs(t *testing.T) map[string]bool {
	t.Helper()
	ctx, cancel := ctxTimeout(2 * time.Minute)
	defer cancel()
	ids := map[string]bool{}
	st, err := s.js.Stream(ctx, s.topo.StreamNotificaciones())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return ids
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			t.Fatalf("reading the notifications stream up to sequence %d: %v (%d read)", last, err, len(ids))
		}
		ids[m.Headers().Get(jetstream.MsgIDHeader)] = true
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if md.Sequence.Stream >= last {
			return ids
		}
	}
}

// inStreamAt reports whether the message the audit recorded at sequence seq of the
// notifications stream (stream_seq) is still there under the message ID id: asked of the
// stream's leader, one message at a time, to confirm a message the read did not see.
func (s *suite) inStreamAt(ctx context.Context, seq uint64, id string) bool {
	st, err := s.js.Stream(ctx, s.topo.StreamNotificaciones())
	if err != nil {
		return false
	}
	m, err := st.GetMsg(ctx, seq)
	return err == nil && m.Header.Get(jetstream.MsgIDHeader) == id
}

func (s *suite) streamMessages(t *testing.T, stream string) uint64 {
	t.Helper()
	ctx, cancel := ctxTimeout(10 * time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// report prints the scenario table and writes it as Markdown, in bin/name (or in the directory
// CHAOS_REPORT_DIR).
func (s *suite) report(seed uint64, name string) {
	var b strings.Builder
	on := "one NATS server, one PostgreSQL, one ingest, two reconcilers"
	if s.cluster != nil {
		on = "3-node JetStream cluster (R3 streams), PostgreSQL primary + synchronous standby, two ingest, two reconcilers"
	}
	fmt.Fprintf(&b, "Chaos suite (%s), seed %d, %s\n\n", on, seed, time.Now().UTC().Format(time.RFC3339))
	b.WriteString("| scenario | sent | 200 | 503 | aceptado (want) | applied twice | boletas with ≠1 event ID | event IDs / messages | lost | longest without a 200 | catch-up after the last fault and the last 200 | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range s.rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d (%d) | %d | %d | %d / %d | %d | %v | %v | %s |\n", f.scenario, f.sent, f.ok200, f.r503,
			f.aceptados, f.wanted, f.appliedTwice, f.wrongEvents, f.total, f.copies, f.lost,
			f.noAnswer.Round(10*time.Millisecond), f.catchUp.Round(10*time.Millisecond), f.notes)
	}
	fmt.Print("\n" + b.String())
	dir := os.Getenv("CHAOS_REPORT_DIR")
	if dir == "" {
		dir = s.bin
	}
	_ = os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

// randomHex is a password as docs/nats-identities.md advises: openssl rand -hex 24.
func randomHex() string {
	b := make([]byte, 24)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
