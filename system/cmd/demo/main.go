// Command demo shows the whole system working on one machine (`make demo`): it starts a
// nats-server of its own with the shipped configuration (every program on its identity), ingest
// and the reconciler (bin/) against the local Postgres in a database of its own, starts a
// simulated NubeFacT, records a few pending boletas, delivers a webhook for one, regularizes the
// rest, prints each boleta's state before and after and the events a subscriber received, and
// removes everything it started. With NATS_URL (or -nats) it uses that server instead, in a NATS
// namespace of its own.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/testkit/tempdb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	bin, adminDSN, natsURL string
	nats                   *natsserver.Server // the demo's own, nil on an external server
	passwords              map[string]string  // of each identity on the demo's own server
	db                     *tempdb.Database
	topo                   contracts.Topologia
	token, simToken        string
	pool                   *pgxpool.Pool
	js                     jetstream.JetStream
	procs                  []*process.Child
	logs                   string

	mu       sync.Mutex
	events   []contracts.Evento
	subjects []string
}

func run() error {
	bin := flag.String("bin", "bin", "directory of the ingest and reconciler binaries")
	admin := flag.String("pg", envOr("DEMO_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "Postgres connection allowed to CREATE DATABASE")
	natsURL := flag.String("nats", os.Getenv("NATS_URL"), "external NATS server with JetStream (default: a nats-server of the demo's own, with the shipped configuration)")
	deploy := flag.String("deploy", filepath.Join("deploy", "nats"), "directory of the shipped nats-server.conf and permissions.conf")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := &demo{bin: *bin, adminDSN: *admin, natsURL: *natsURL, token: "demo-token-" + randHex(8), simToken: "sim-" + randHex(8)}
	var err error
	if d.logs, err = os.MkdirTemp("", "boletas-demo-"); err != nil {
		return err
	}
	if d.db, err = tempdb.Create(ctx, d.adminDSN, "demo"); err != nil {
		_ = os.RemoveAll(d.logs)
		return fmt.Errorf("%w; set DEMO_DATABASE_URL", err)
	}
	if d.natsURL == "" {
		err = d.startNATS(ctx, *deploy)
	} else {
		// Someone else's server: the NATS namespace takes the database's name, so what one run
		// left behind is found together.
		d.topo = contracts.Topologia{Prefijo: d.db.Name}
	}
	if err == nil {
		err = d.show(ctx)
	}
	d.cleanup(err == nil)
	return err
}

func (d *demo) show(ctx context.Context) error {
	if d.nats != nil {
		step("Preparing: database %s, logs in %s", d.db.Name, d.logs)
		fmt.Printf("    NATS: a nats-server %s of the demo's own on %s, with the shipped configuration\n", natsserver.Version, d.natsURL)
		fmt.Printf("    (deploy/nats/nats-server.conf and permissions.conf); each program connects as its identity:\n")
		fmt.Printf("    ingest, reconciler, ops (regularize), subscriber (the demo's event listener), with passwords\n")
		fmt.Printf("    generated for this run and given to the server's and each program's environment\n")
	} else {
		step("Preparing: database %s, NATS namespace %q, logs in %s", d.db.Name, d.topo.Prefijo, d.logs)
		fmt.Printf("    NATS: %s, from NATS_URL (or -nats), as %s\n", d.natsURL, externalIdentity())
	}

	sim := simulador.New(d.simToken)
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()
	ruta := "http://" + simLn.Addr().String() + sim.Ruta

	env := []string{"DATABASE_URL=" + d.db.DSN, "NATS_URL=" + d.natsURL, "NATS_PREFIX=" + d.topo.Prefijo,
		"WEBHOOK_TOKENS=" + d.token, "NUBEFACT_RUTA=" + ruta, "NUBEFACT_TOKEN=" + d.simToken, "METRICS_ADDR=127.0.0.1:0"}
	step("Starting the reconciler, ingest and a simulated NubeFacT (%s)", simLn.Addr())
	reconAddr, err := d.start(ctx, "reconciler", "RECONCILER_ADDR", slices.Concat(env, d.identity("reconciler")))
	if err != nil {
		return err
	}
	ingestAddr, err := d.start(ctx, "ingest", "INGEST_ADDR", slices.Concat(env, d.identity("ingest")))
	if err != nil {
		return err
	}
	fmt.Printf("    reconciler on %s, ingest on %s\n", reconAddr, ingestAddr)
	if d.pool, err = pgxpool.New(ctx, d.db.DSN); err != nil {
		return err
	}
	if err := d.subscribe(ctx); err != nil {
		return err
	}

	boletas := []struct {
		numero int
		sim    simulador.Situacion
		nota   string
	}{
		{1, simulador.Aceptada, "SUNAT accepts it; NubeFacT sends the webhook"},
		{2, simulador.Aceptada, "accepted before the webhook existed"},
		{3, simulador.Rechazada, "rejected by SUNAT (code 2017)"},
		{4, simulador.Anulada, "voided"},
		{5, simulador.Pendiente, "still in the Resumen Diario"},
		{6, simulador.NoExiste, "never reached NubeFacT"},
	}
	step("The billing system records %d pending boletas (the INSERT of the README)", len(boletas))
	for _, b := range boletas {
		if _, err := d.pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
			VALUES (2, 'B001', $1, current_date - 3)`, b.numero); err != nil {
			return err
		}
		sim.Poner(contracts.Clave{TipoDeComprobante: 2, Serie: "B001", Numero: b.numero}, b.sim)
		fmt.Printf("    B001-%d: NubeFacT will say %-9s (%s)\n", b.numero, b.sim, b.nota)
	}
	if err := d.table(ctx, "Before"); err != nil {
		return err
	}

	step("NubeFacT delivers the webhook for B001-1 (POST /webhooks/nubefact?token=…)")
	intentos, err := sim.Webhook(ctx, "http://"+ingestAddr+"/webhooks/nubefact?token="+d.token,
		contracts.Clave{TipoDeComprobante: 2, Serie: "B001", Numero: 1}, 250*time.Millisecond)
	if err != nil {
		return err
	}
	fmt.Printf("    delivered: 200 after %d attempt(s)\n", intentos)
	if err := d.waitFor(ctx, `SELECT count(*) = 1 FROM comprobantes WHERE numero = 1 AND estado = 'aceptado'`); err != nil {
		return fmt.Errorf("B001-1 not aceptado: %w (see %s)", err, d.logs)
	}
	if d.nats != nil {
		if err := d.showRefusals(); err != nil {
			return err
		}
	}

	as := ""
	if d.nats != nil {
		as = " (as ops)"
	}
	step("Ops regularize the rest%s: bin/reconciler regularize --rate 0 --report %s", as, filepath.Join(d.logs, "no-resueltas.csv"))
	reg := exec.CommandContext(ctx, filepath.Join(d.bin, "reconciler"), "regularize", "--rate", "0",
		"--report", filepath.Join(d.logs, "no-resueltas.csv"))
	reg.Env, reg.Stdout, reg.Stderr = slices.Concat(os.Environ(), env, d.identity("ops")), os.Stdout, os.Stdout
	if err := reg.Run(); err != nil {
		return fmt.Errorf("regularize: %w", err)
	}
	if err := d.waitFor(ctx, `SELECT count(*) = 0 FROM outbox`); err != nil {
		return err
	}
	if err := d.waitFor(ctx, `SELECT count(*) = 4 FROM comprobantes WHERE estado <> 'pendiente'`); err != nil {
		return err
	}
	// Four state changes, four events: wait until the subscriber has them all.
	if err := d.waitEvents(4); err != nil {
		return err
	}
	if err := d.table(ctx, "After"); err != nil {
		return err
	}
	d.showEvents()
	if report, err := os.ReadFile(filepath.Join(d.logs, "no-resueltas.csv")); err == nil {
		step("Report for the accountant (--report):")
		fmt.Print(indent(string(report)))
	}
	step("Done. Cleaning up what the demo started.")
	return nil
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

// start starts bin/name on a free port, given to it in addrVar, and waits until it is ready.
func (d *demo) start(ctx context.Context, name, addrVar string, env []string) (string, error) {
	p := &process.Child{Name: name, Path: filepath.Join(d.bin, name), Env: env, Log: filepath.Join(d.logs, name+".log")}
	addr, err := p.StartOnFreePort(ctx, addrVar, 30*time.Second)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w (run `make build` first)", err)
	}
	if err != nil {
		return "", err
	}
	d.procs = append(d.procs, p)
	return addr, nil
}

func (d *demo) subscribe(ctx context.Context) error {
	nc, err := nats.Connect(d.natsURL, d.userInfo("subscriber")...)
	if err != nil {
		return err
	}
	d.js, _ = jetstream.New(nc)
	cons, err := d.js.OrderedConsumer(ctx, d.topo.StreamEventos(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	_, err = cons.Consume(func(m jetstream.Msg) {
		var ev contracts.Evento
		if json.Unmarshal(m.Data(), &ev) == nil {
			d.mu.Lock()
			d.events, d.subjects = append(d.events, ev), append(d.subjects, m.Subject())
			d.mu.Unlock()
		}
	})
	return err
}

func (d *demo) table(ctx context.Context, title string) error {
	rows, err := d.pool.Query(ctx, `SELECT serie || '-' || numero, estado, coalesce(sunat_responsecode, ''),
		coalesce(enlace_del_cdr, ''), coalesce(codigo_hash, '') FROM comprobantes ORDER BY numero`)
	if err != nil {
		return err
	}
	defer rows.Close()
	step("%s:", title)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    BOLETA\tESTADO\tCODE\tCDR\tCODIGO_HASH")
	for rows.Next() {
		var k, e, c, cdr, h string
		if err := rows.Scan(&k, &e, &c, &cdr, &h); err != nil {
			return err
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", k, e, c, cdr, h)
	}
	_ = tw.Flush()
	return rows.Err()
}

func (d *demo) showEvents() {
	d.mu.Lock()
	defer d.mu.Unlock()
	step("Events a subscriber received (%d):", len(d.events))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "    SUBJECT\tID\tORIGEN\tCDR")
	for i, ev := range d.events {
		cdr := ""
		if ev.Data.EnlaceDelCDR != nil {
			cdr = *ev.Data.EnlaceDelCDR
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", d.subjects[i], ev.ID, ev.Data.Origen, cdr)
	}
	_ = tw.Flush()
}

// waitEvents waits until the subscriber has received n events.
func (d *demo) waitEvents(n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		got := len(d.events)
		d.mu.Unlock()
		if got >= n {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timed out waiting for %d events (see %s)", n, d.logs)
}

func (d *demo) waitFor(ctx context.Context, query string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ok bool
		if err := d.pool.QueryRow(ctx, query).Scan(&ok); err == nil && ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("timed out waiting for: " + query)
}

// cleanup stops the services and the demo's nats-server, deleting its store, or deletes the
// streams of the namespace on an external server, and drops the database; the logs go too,
// unless the demo failed.
func (d *demo) cleanup(ok bool) {
	for _, p := range slices.Backward(d.procs) {
		p.Stop(30 * time.Second)
	}
	if d.pool != nil {
		d.pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stopped, deleted := "ingest and reconciler", "the streams, "
	if d.nats != nil {
		d.nats.Stop(10 * time.Second)
		// Its store goes in any case; its configuration and log stay with the others on failure.
		_ = os.RemoveAll(filepath.Join(d.logs, "nats", "jetstream"))
		stopped, deleted = "ingest, reconciler and nats-server", "its store, "
	} else if d.topo.Prefijo == "" {
		deleted = "" // its own server did not start: no stream of the demo anywhere
	} else if nc, err := nats.Connect(d.natsURL, d.userInfo("")...); err == nil {
		js, _ := jetstream.New(nc)
		for _, s := range []string{d.topo.StreamNotificaciones(), d.topo.StreamEventos(), d.topo.StreamDeadLetters()} {
			_ = js.DeleteStream(ctx, s)
		}
		nc.Close()
	}
	if err := d.db.Drop(ctx); err != nil {
		fmt.Printf("    %v\n", err)
	}
	if ok {
		_ = os.RemoveAll(d.logs)
		fmt.Printf("    stopped %s; deleted %sdatabase %s and the logs (%s)\n", stopped, deleted, d.db.Name, d.logs)
		return
	}
	fmt.Printf("    stopped %s; deleted %sdatabase %s (logs kept in %s)\n", stopped, deleted, d.db.Name, d.logs)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
