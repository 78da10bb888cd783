package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	e2eTasa     = 2000 // webhooks per second, offered whatever the answers
	e2eDuracion = 30 * time.Second
	e2eSerie    = "BE2E"
)

// endToEnd runs the end-to-end load twice: on the NATS server the bench was given (the default
// configuration), and on the production configuration, a bin/nats-server with sync_interval:
// always (every acknowledged write on disk) beside Postgres's synchronous_commit = on, where it
// also reports the CPU each process spends per webhook.
func endToEnd(ctx context.Context, e environment) ([]Result, error) {
	out, err := endToEndOn(ctx, e, fmt.Sprintf("end to end, %d webhooks/s for %v", e2eTasa, e2eDuracion), nil)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-e2e-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv, err := natsserver.Start(ctx, filepath.Join(e.bin, "nats-server"), dir, "sync_interval: always")
	if err != nil {
		return nil, fmt.Errorf("bin/nats-server (make bench builds it): %w", err)
	}
	defer srv.Kill()
	pe := e
	pe.natsURL, pe.replicas = srv.URL(), 1
	fmt.Fprintln(logw, "  end to end: the production configuration (bin/nats-server, sync_interval: always)...")
	prod, err := endToEndOn(ctx, pe, fmt.Sprintf("end to end, production config, %d webhooks/s for %v", e2eTasa, e2eDuracion), srv)
	if err != nil {
		return nil, fmt.Errorf("production configuration: %w", err)
	}
	return append(out, prod...), nil
}

// endToEndOn offers 2,000 webhooks per second for 30 s to bin/ingest with a bin/reconciler behind
// it, and measures, per boleta, the time from the webhook's 200 to the row being aceptado
// (estado_final_en, written with clock_timestamp()) and to the boleta.aceptada event reaching a
// subscriber. The baseline is the broker's own hop at the same rate: a JetStream publish to a
// subscriber of the stream. With nats (a server of the bench's own), it also reports the CPU
// time ingest, the reconciler, nats-server and Postgres spent from the first webhook offered to
// the last event received, per webhook (from /proc; the load generator and the subscriber, this
// process, are not counted).
func endToEndOn(ctx context.Context, e environment, esc string, nats *natsserver.Server) ([]Result, error) {
	a, err := newIsolated(ctx, e, 4)
	if err != nil {
		return nil, err
	}
	defer a.close()
	n := int(e2eTasa * e2eDuracion / time.Second)
	if err := a.insertPendientes(ctx, e2eSerie, n); err != nil {
		return nil, err
	}
	fmt.Fprintln(logw, "  end to end: broker baseline...")
	base, err := brokerHop(ctx, a)
	if err != nil {
		return nil, err
	}

	rec, err := startService(ctx, e, "reconciler", append(a.env(), strings.Fields(os.Getenv("BENCH_RECONCILER_ENV"))...))
	if err != nil {
		return nil, err
	}
	ing, err := startService(ctx, e, "ingest", slices.Concat(a.env(), []string{"WEBHOOK_TOKENS=" + benchToken},
		strings.Fields(os.Getenv("BENCH_INGEST_ENV"))))
	if err != nil {
		_, _ = rec.stop()
		return nil, err
	}
	ok200 := make([]atomic.Int64, n+1) // unix nanos of each boleta's 200
	evento := make([]atomic.Int64, n+1)
	cons, err := a.js.OrderedConsumer(ctx, a.topo.StreamEventos(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		llegada := time.Now().UnixNano()
		var ev struct {
			Data struct {
				Numero int `json:"numero"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Data(), &ev) == nil && ev.Data.Numero > 0 && ev.Data.Numero <= n {
			evento[ev.Data.Numero].CompareAndSwap(0, llegada)
		}
	})
	if err != nil {
		return nil, err
	}
	defer cc.Stop()

	fmt.Fprintf(logw, "  end to end: %d webhooks/s for %v...\n", e2eTasa, e2eDuracion)
	var procesos map[string][]int
	if nats != nil {
		procesos = map[string][]int{"ingest": {ing.Pid()}, "reconciler": {rec.Pid()}, "nats-server": {nats.Pid()}, "postgres": postgresPids()}
	}
	cpuAntes := cpuTimes(procesos)
	backlog, fallos, err := offer(ctx, a, "http://"+ing.addr+"/webhooks/nubefact?token="+benchToken, n, ok200)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for faltan := n; faltan > 0 && time.Now().Before(deadline); {
		faltan = 0
		for i := 1; i <= n; i++ {
			if evento[i].Load() == 0 {
				faltan++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if procesos != nil {
		procesos["postgres"] = postgresPids() // with the backends the load made Postgres start
	}
	cpuDespues := cpuTimes(procesos)
	rssIng, err := ing.stop()
	if err != nil {
		return nil, err
	}
	rssRec, err := rec.stop()
	if err != nil {
		return nil, err
	}

	var aFila, aEvento latencies
	rows, err := a.pool.Query(ctx, `SELECT numero, estado_final_en FROM comprobantes WHERE serie = $1 AND estado = 'aceptado'`, e2eSerie)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var num int
		var fin time.Time
		if err := rows.Scan(&num, &fin); err != nil {
			return nil, err
		}
		if t := ok200[num].Load(); t > 0 {
			aFila = append(aFila, max(0, fin.Sub(time.Unix(0, t))))
		}
	}
	rows.Close()
	perdidos := 0
	for i := 1; i <= n; i++ {
		t, ev := ok200[i].Load(), evento[i].Load()
		switch {
		case t == 0:
		case ev == 0:
			perdidos++
		default:
			aEvento = append(aEvento, max(0, time.Duration(ev-t)))
		}
	}
	if perdidos > 0 || fallos > 0 || len(aFila) != n {
		return nil, fmt.Errorf("end to end: %d webhooks failed, %d rows aceptado of %d, %d events missing", fallos, len(aFila), n, perdidos)
	}
	out := []Result{
		withBaseline(Result{Scenario: esc, Metric: "200 → row aceptado p50", Value: ms(aFila.percentile(50)), Unit: "ms"}, "broker hop p50", ms(base.percentile(50))),
		withBaseline(Result{Scenario: esc, Metric: "200 → row aceptado p99", Value: ms(aFila.percentile(99)), Unit: "ms"}, "broker hop p99", ms(base.percentile(99))),
		withBaseline(Result{Scenario: esc, Metric: "200 → event received p50", Value: ms(aEvento.percentile(50)), Unit: "ms"}, "broker hop p50", ms(base.percentile(50))),
		withBaseline(Result{Scenario: esc, Metric: "200 → event received p99", Value: ms(aEvento.percentile(99)), Unit: "ms"}, "broker hop p99", ms(base.percentile(99))),
		withBaseline(Result{Scenario: esc, Metric: "backlog at the end", Value: float64(backlog[len(backlog)-1]), Unit: "msgs"}, "backlog after 5 s", float64(backlog[min(4, len(backlog)-1)])),
		{Scenario: esc, Metric: "largest backlog seen", Value: float64(maxOf(backlog)), Unit: "msgs"},
		{Scenario: esc, Metric: "ingest peak RSS", Value: rssIng, Unit: "MiB"},
		{Scenario: esc, Metric: "reconciler peak RSS", Value: rssRec, Unit: "MiB"},
	}
	if procesos != nil {
		total := 0.0
		for _, name := range []string{"ingest", "reconciler", "nats-server", "postgres"} {
			var d time.Duration
			for pid, t := range cpuDespues[name] {
				d += t - cpuAntes[name][pid] // a process started meanwhile counts whole; one that ended, nothing

			}
			us := d.Seconds() * 1e6 / float64(n)
			total += us
			out = append(out, Result{Scenario: esc, Metric: "CPU per webhook, " + name, Value: us, Unit: "µs"})
		}
		out = append(out, Result{Scenario: esc, Metric: "CPU per webhook, the four", Value: total, Unit: "µs"})
	}
	return out, nil
}

// cpuTimes reads the CPU time (user and system) each process of each named group has used so
// far; a process that has ended is left out.
func cpuTimes(procesos map[string][]int) map[string]map[int]time.Duration {
	out := make(map[string]map[int]time.Duration, len(procesos))
	for name, pids := range procesos {
		out[name] = map[int]time.Duration{}
		for _, pid := range pids {
			if t, ok := cpuTime(pid); ok {
				out[name][pid] = t
			}
		}
	}
	return out
}

// cpuTime is utime + stime of /proc/pid/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuTime(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces: count after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100), true
}

// postgresPids are the processes named postgres (the server and its backends): the bench's
// databases are the only work the local server has while it runs.
func postgresPids() []int {
	dirs, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			out = append(out, pid)
		}
	}
	return out
}

// offer sends webhook i at start + i/rate, open loop (a slow answer does not slow the
// offer), and samples the consumer's backlog every second.
func offer(ctx context.Context, a *isolated, url string, n int, ok200 []atomic.Int64) ([]int, int64, error) {
	cons, err := a.js.Consumer(ctx, a.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		return nil, 0, err
	}
	var backlog []int
	stopSample := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSample:
				return
			case <-t.C:
				if info, err := cons.Info(ctx); err == nil {
					backlog = append(backlog, int(info.NumPending)+info.NumAckPending)
				}
			}
		}
	}()
	cola := make(chan int, n)
	var fallos atomic.Int64
	var wg sync.WaitGroup
	for range 128 {
		wg.Go(func() {
			client := oneConnClient()
			defer client.CloseIdleConnections()
			for i := range cola {
				if !post(ctx, client, url, notificacionBody(e2eSerie, int64(i))) {
					fallos.Add(1)
					continue
				}
				ok200[i].Store(time.Now().UnixNano())
			}
		})
	}
	start := time.Now()
	for i := 1; i <= n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / e2eTasa)); d > 0 {
			time.Sleep(d)
		}
		cola <- i
	}
	close(cola)
	wg.Wait()
	close(stopSample)
	<-sampled
	if len(backlog) == 0 {
		backlog = []int{0}
	}
	return backlog, fallos.Load(), nil
}

// brokerHop publishes at the same rate to a stream of its own for 5 s and measures publish →
// delivery to an ordered consumer.
func brokerHop(ctx context.Context, a *isolated) (latencies, error) {
	name, subject := a.topo.StreamNotificaciones()+"_HOP", "hop."+a.topo.SubjectNotificacion(contracts.OrigenWebhook)
	if _, err := a.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage}); err != nil {
		return nil, err
	}
	defer func() { _ = a.js.DeleteStream(context.WithoutCancel(ctx), name) }()
	const total = e2eTasa * 5
	enviado := make([]atomic.Int64, total)
	var mu sync.Mutex
	var lat latencies
	cons, err := a.js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil || md.Sequence.Stream == 0 || md.Sequence.Stream > total {
			return
		}
		if t := enviado[md.Sequence.Stream-1].Load(); t > 0 {
			mu.Lock()
			lat = append(lat, time.Duration(time.Now().UnixNano()-t))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	defer cc.Stop()
	body := notificacionBody("BHOP", 1)
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / e2eTasa)); d > 0 {
			time.Sleep(d)
		}
		enviado[i].Store(time.Now().UnixNano())
		if _, err := a.js.PublishAsync(subject, body); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got := len(lat)
		mu.Unlock()
		if got >= total {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return append(latencies(nil), lat...), nil
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
