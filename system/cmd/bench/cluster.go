package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/nats-io/nats.go/jetstream"
)

// clusterDrain is the backlog each layout's reconciler drains: enough for a rate, small enough
// that an R3 stream fills it in seconds.
const clusterDrain = 20_000

// clusterScenario measures what replication costs: a 3-node JetStream cluster with R3 streams
// against one node, both bin/nats-server with sync_interval: always (the setting this system
// ships with). On each: raw JetStream publish+ack from 64 publishers against bin/ingest under 64
// connections (10 s each, twice each, ABBA, averaged; the target is ingest ≥ 0.8× raw: once the
// broker fsyncs, the HTTP layer must not be the bottleneck), and a backlog of 20,000 drained by
// one bin/reconciler against a raw pull consumer that only double-acks the same messages.
func clusterScenario(ctx context.Context, e environment) ([]Result, error) {
	var got []layoutFigures
	for _, l := range []struct {
		name  string
		nodes int
	}{{"one node", 1}, {"R3 cluster", 3}} {
		dir, err := os.MkdirTemp("", "bench-cluster-")
		if err != nil {
			return nil, err
		}
		le := e
		var stop func()
		if l.nodes == 1 {
			srv, err := natsserver.Start(ctx, filepath.Join(e.bin, "nats-server"), dir, "sync_interval: always")
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("bin/nats-server (make bench builds it): %w", err)
			}
			le.natsURL, le.replicas, stop = srv.URL(), 1, srv.Kill
		} else {
			c, err := natsserver.StartCluster(ctx, filepath.Join(e.bin, "nats-server"), dir, l.nodes, "sync_interval: always")
			if err != nil {
				os.RemoveAll(dir)
				return nil, fmt.Errorf("bin/nats-server cluster: %w", err)
			}
			le.natsURL, le.replicas, stop = c.URL(), l.nodes, c.Kill
		}
		m, err := measureLayout(ctx, le, l.name)
		stop()
		os.RemoveAll(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		got = append(got, m)
	}
	var out []Result
	for _, m := range got {
		esc := "sync always, " + m.layout
		out = append(out,
			withBaseline(Result{Scenario: esc, Metric: "ingest webhooks/s, 64 conns", Value: m.ingest, Unit: "req/s"}, "raw JetStream publish+ack, 64 publishers", m.raw),
			withBaseline(Result{Scenario: esc, Metric: "ingest p99 latency", Value: ms(m.ingestLat.percentile(99)), Unit: "ms"}, "raw JetStream publish+ack", ms(m.rawLat.percentile(99))),
			withBaseline(Result{Scenario: esc, Metric: "reconciler drain 20k", Value: m.drain, Unit: "notif/s"}, "raw pull consumer, double ack", m.rawDrain))
	}
	one, r3 := got[0], got[1]
	out = append(out,
		withBaseline(Result{Scenario: "R3 cluster vs one node", Metric: "ingest webhooks/s", Value: r3.ingest, Unit: "req/s"}, "one node", one.ingest),
		withBaseline(Result{Scenario: "R3 cluster vs one node", Metric: "ingest p99 latency", Value: ms(r3.ingestLat.percentile(99)), Unit: "ms"}, "one node", ms(one.ingestLat.percentile(99))),
		withBaseline(Result{Scenario: "R3 cluster vs one node", Metric: "raw JetStream publish+ack", Value: r3.raw, Unit: "msg/s"}, "one node", one.raw),
		withBaseline(Result{Scenario: "R3 cluster vs one node", Metric: "reconciler drain", Value: r3.drain, Unit: "notif/s"}, "one node", one.drain))
	return out, nil
}

// layoutFigures is what measureLayout measured on one layout.
type layoutFigures struct {
	layout            string
	raw, ingest       float64 // publishes or webhooks per second
	rawLat, ingestLat latencies
	drain, rawDrain   float64 // notifications per second
}

func measureLayout(ctx context.Context, e environment, name string) (m layoutFigures, err error) {
	m.layout = name
	a, err := newIsolated(ctx, e, 4)
	if err != nil {
		return m, err
	}
	defer a.close()
	// Raw, ingest, ingest, raw (ABBA): on a broker that fsyncs, a stream that grows and a
	// machine that drifts weigh the same on both.
	var raws, ingests []float64
	for i, raw := range []bool{true, false, false, true} {
		if raw {
			fmt.Fprintf(logw, "  cluster: %s, raw JetStream publishes, run %d of 4...\n", name, i+1)
			r, lat, err := publishRaw(ctx, a, fmt.Sprintf("BRW%d", i), ingestConexiones, ingestDuracion)
			if err != nil {
				return m, err
			}
			raws, m.rawLat = append(raws, r), append(m.rawLat, lat...)
			continue
		}
		fmt.Fprintf(logw, "  cluster: %s, bin/ingest, run %d of 4...\n", name, i+1)
		r, lat, _, err := loadIngest(ctx, e, a, fmt.Sprintf("BCL%d", i))
		if err != nil {
			return m, err
		}
		ingests, m.ingestLat = append(ingests, r), append(m.ingestLat, lat...)
	}
	m.raw, m.ingest = mean(raws), mean(ingests)

	// The drain on a namespace of its own: the stream above holds notifications for boletas
	// that are not in the table, which the reconciler would park.
	d, err := newIsolated(ctx, e, 4)
	if err != nil {
		return m, err
	}
	defer d.close()
	const serie = "BCLD"
	if err := d.insertPendientes(ctx, serie, clusterDrain); err != nil {
		return m, err
	}
	fmt.Fprintf(logw, "  cluster: %s, %d notifications into the stream...\n", name, clusterDrain)
	if err := publishBacklog(ctx, d, serie, clusterDrain); err != nil {
		return m, err
	}
	fmt.Fprintf(logw, "  cluster: %s, raw pull consumer...\n", name)
	if m.rawDrain, err = rawDrain(ctx, d, clusterDrain); err != nil {
		return m, err
	}
	fmt.Fprintf(logw, "  cluster: %s, bin/reconciler drains...\n", name)
	if m.drain, _, err = drainPublished(ctx, e, d, serie, clusterDrain); err != nil {
		return m, err
	}
	return m, nil
}

// rawDrain reads the n messages of the notifications stream with a durable pull consumer of its
// own, the reconciler's fetch size, and double-acks each (the acknowledgement the reconciler
// waits for), many in flight: JetStream's part of a drain, without Postgres.
func rawDrain(ctx context.Context, a *isolated, n int) (float64, error) {
	cons, err := a.js.CreateOrUpdateConsumer(ctx, a.topo.StreamNotificaciones(), jetstream.ConsumerConfig{
		Durable: "bench-raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1000, AckWait: 30 * time.Second})
	if err != nil {
		return 0, err
	}
	var acked, failed atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		go func() {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := msg.DoubleAck(actx); err != nil {
				failed.Add(1)
				return
			}
			if acked.Add(1) == int64(n) {
				close(done)
			}
		}()
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	defer cc.Stop()
	select {
	case <-done:
	case <-time.After(4 * time.Minute):
		return 0, fmt.Errorf("raw drain: %d of %d acknowledged after 4 minutes (%d acks failed)", acked.Load(), n, failed.Load())
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
