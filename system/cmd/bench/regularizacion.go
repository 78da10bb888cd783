package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

const (
	regLatencia    = 20 * time.Millisecond
	regConcurrency = 64
)

// regularizacionScenario runs `bin/reconciler regularize --concurrency 64 --rate 0` against the
// simulator with 20 ms of latency per call, over 10,000 and then 100,000 pending boletas, and
// reads its peak resident memory from the kernel (rusage). The baseline is the same number of
// concurrent Operation 2 calls made by a bare loop of the NubeFacT client: no Postgres, no NATS.
func regularizacionScenario(ctx context.Context, e environment) ([]Result, error) {
	const token = "bench-sim-token-0123456789"
	sim := simulador.New(token)
	sim.PorDefecto(simulador.Aceptada)
	sim.Latencia(regLatencia)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim.Handler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ruta := "http://" + ln.Addr().String() + sim.Ruta

	base, err := baselineClient(ctx, ruta, token, 10_000)
	if err != nil {
		return nil, err
	}
	var out []Result
	var rss10k float64
	for _, n := range []int{10_000, 100_000} {
		rate, rssMiB, err := regularizar(ctx, e, ruta, token, n)
		if err != nil {
			return nil, err
		}
		esc := fmt.Sprintf("regularization %dk", n/1000)
		out = append(out, withBaseline(Result{Scenario: esc, Metric: "throughput", Value: rate, Unit: "boletas/s"},
			"bare client loop, 64 in flight", base))
		r := Result{Scenario: esc, Metric: "peak RSS", Value: rssMiB, Unit: "MiB"}
		if n == 10_000 {
			rss10k = rssMiB
		} else {
			r = withBaseline(r, "peak RSS at 10k", rss10k)
		}
		out = append(out, r)
	}
	out = append(out, Result{Scenario: "regularization", Metric: "ceiling 64 / 20 ms", Value: float64(regConcurrency) / regLatencia.Seconds(), Unit: "boletas/s"})
	return out, nil
}

func baselineClient(ctx context.Context, ruta, token string, n int) (float64, error) {
	c, err := nubefact.New(ruta, token, 10*time.Second)
	if err != nil {
		return 0, err
	}
	var next atomic.Int64
	var fails atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range regConcurrency {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := c.Consultar(ctx, contracts.Clave{TipoDeComprobante: 2, Serie: "BASE", Numero: int(i)}); err != nil {
					fails.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if f := fails.Load(); f > 0 {
		return 0, fmt.Errorf("baseline: %d calls failed", f)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func regularizar(ctx context.Context, e environment, ruta, token string, n int) (rate, rssMiB float64, err error) {
	a, err := newIsolated(ctx, e, 4)
	if err != nil {
		return 0, 0, err
	}
	defer a.close()
	if err := a.insertPendientes(ctx, "BREG", n); err != nil {
		return 0, 0, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "reconciler"), "regularize", "--concurrency", fmt.Sprint(regConcurrency), "--rate", "0")
	cmd.Env = append(append(os.Environ(), a.env()...), "NUBEFACT_RUTA="+ruta, "NUBEFACT_TOKEN="+token)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	done := make(chan struct{})
	peak := watchRSS(cmd.Process.Pid, done)
	err = cmd.Wait()
	took := time.Since(start)
	close(done)
	rssMiB = <-peak
	if err != nil {
		return 0, 0, fmt.Errorf("regularize %d: %v\n%s%s", n, err, stdout.String(), stderr.String())
	}
	st, err := a.js.Stream(ctx, a.topo.StreamNotificaciones())
	if err != nil {
		return 0, 0, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	if info.State.Msgs != uint64(n) {
		return 0, 0, fmt.Errorf("regularize %d published %d notifications", n, info.State.Msgs)
	}
	return float64(n) / took.Seconds(), rssMiB, nil
}
