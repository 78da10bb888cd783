package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	ingestConexiones = 64
	ingestDuracion   = 10 * time.Second
	benchToken       = "bench-webhook-token-0123456789"
)

// ingestScenario measures bin/ingest with 64 keep-alive connections posting distinct valid
// notifications for 10 s (twice, averaged, against two runs with its metrics off), beside (a) a bare net/http handler that reads the body and answers
// 200, in a process of its own, and (b) raw JetStream publishes of the same payloads from 64
// goroutines on one connection, each waiting for its acknowledgement.
func ingestScenario(ctx context.Context, e environment) ([]Result, error) {
	a, err := newIsolated(ctx, e, 2)
	if err != nil {
		return nil, err
	}
	defer a.close()

	fmt.Fprintln(logw, "  ingest: bare net/http handler...")
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bare := &process.Child{Name: "bare handler", Path: self, Log: filepath.Join(e.logs, "bare.log")}
	bareAddr, err := freeport.Try(func(addr string) error {
		bare.Args = []string{"-serve-bare", addr}
		return bare.StartReady(ctx, func(ctx context.Context) error { return ready.HTTP(ctx, "http://"+addr+"/readyz", time.Minute) })
	})
	if err != nil {
		return nil, err
	}
	bareRate, bareLat, err := httpLoad(ctx, "http://"+bareAddr+"/webhooks/nubefact", ingestConexiones, ingestDuracion, "BBAR")
	bare.Kill()
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(logw, "  ingest: raw JetStream publishes...")
	jsRate, jsLat, err := publishRaw(ctx, a, "BRAW", ingestConexiones, ingestDuracion)
	if err != nil {
		return nil, err
	}

	// Four runs of bin/ingest, without metrics, with, with, without (ABBA): the drift of a
	// stream that grows run after run weighs the same on both, which one pair would not.
	var on, off []float64
	var lat latencies
	var rss float64
	for i, metrics := range []bool{false, true, true, false} {
		env := []string{"METRICS_ADDR="}
		label := "without metrics (METRICS_ADDR empty)"
		if metrics {
			env, label = nil, "with metrics"
		}
		fmt.Fprintf(logw, "  ingest: bin/ingest %s, run %d of 4...\n", label, i+1)
		r, l, m, err := loadIngest(ctx, e, a, fmt.Sprintf("BIN%d", i), env...)
		if err != nil {
			return nil, err
		}
		if metrics {
			on, lat, rss = append(on, r), append(lat, l...), max(rss, m)
		} else {
			off = append(off, r)
		}
	}
	rate, offRate := mean(on), mean(off)
	esc := "ingest, 64 connections, 10 s"
	out := []Result{
		withBaseline(Result{Scenario: esc, Metric: "webhooks/s vs bare handler", Value: rate, Unit: "req/s"}, "bare net/http handler", bareRate),
		withBaseline(Result{Scenario: esc, Metric: "webhooks/s vs raw JetStream", Value: rate, Unit: "req/s"}, "raw JetStream publish+ack", jsRate),
		withBaseline(Result{Scenario: esc, Metric: "webhooks/s, metrics on vs off", Value: rate, Unit: "req/s"}, "bin/ingest with METRICS_ADDR empty", offRate),
	}
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p99", 99}, {"p99.9", 99.9}} {
		out = append(out,
			withBaseline(Result{Scenario: esc, Metric: p.name + " latency vs raw JetStream", Value: ms(lat.percentile(p.q)), Unit: "ms"}, "raw JetStream publish+ack", ms(jsLat.percentile(p.q))),
			withBaseline(Result{Scenario: esc, Metric: p.name + " latency vs bare handler", Value: ms(lat.percentile(p.q)), Unit: "ms"}, "bare net/http handler", ms(bareLat.percentile(p.q))))
	}
	out = append(out, Result{Scenario: esc, Metric: "ingest peak RSS", Value: rss, Unit: "MiB"})
	return out, nil
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// loadIngest runs bin/ingest (with BENCH_INGEST_ENV, then env) under the 64-connection load
// for 10 s, posting boletas of serie, and returns its rate, latencies and peak RSS.
func loadIngest(ctx context.Context, e environment, a *isolated, serie string, env ...string) (float64, latencies, float64, error) {
	ing, err := startService(ctx, e, "ingest", slices.Concat(a.env(), []string{"WEBHOOK_TOKENS=" + benchToken},
		strings.Fields(os.Getenv("BENCH_INGEST_ENV")), env))
	if err != nil {
		return 0, nil, 0, err
	}
	rate, lat, err := httpLoad(ctx, "http://"+ing.addr+"/webhooks/nubefact?token="+benchToken, ingestConexiones, ingestDuracion, serie)
	rss, perr := ing.stop()
	return rate, lat, rss, errors.Join(err, perr)
}

// publishRaw publishes distinct notifications of serie (a serie per run: a message ID seen
// before would be acknowledged as a duplicate without being stored) from n publishers for d.
func publishRaw(ctx context.Context, a *isolated, serie string, n int, d time.Duration) (float64, latencies, error) {
	subject := a.topo.SubjectNotificacion(contracts.OrigenWebhook)
	rate, lat, fallos := repeatFor(n, d, func() struct{} { return struct{}{} }, func(_ struct{}, i int64) bool {
		body := notificacionBody(serie, i)
		nt, err := contracts.Decode(body)
		if err != nil {
			return false
		}
		_, err = a.js.Publish(ctx, subject, body, jetstream.WithMsgID(contracts.MessageID(nt)))
		return err == nil
	})
	if fallos > 0 {
		return 0, nil, fmt.Errorf("%d raw publishes failed", fallos)
	}
	return rate, lat, nil
}
