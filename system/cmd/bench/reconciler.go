package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	tablaFilas  = 1_000_000
	backlog     = 100_000
	seriePend   = "BA09" // the 100,000 pending rows; BA00–BA08 are aceptado
	baseConexes = 16
)

// reconcilerScenario drains a backlog of 100,000 notifications into a comprobantes table of
// 1,000,000 rows (100,000 pendiente) with one bin/reconciler, and compares it with a plain pgx
// loop of the same conditional single-row UPDATE, one commit per row, on 16 connections, over
// the same rows. Before that it times the queries behind the metrics' gauges on that table. The
// drain is measured twice with metrics and twice with METRICS=false (the baseline of their
// cost), each on 100,000 rows of its own serie set back to pendiente.
func reconcilerScenario(ctx context.Context, e environment) ([]Result, error) {
	a, err := newIsolated(ctx, e, baseConexes+2)
	if err != nil {
		return nil, err
	}
	defer a.close()
	fmt.Fprintln(logw, "  reconciler: filling a table of 1,000,000 rows...")
	if _, err := a.pool.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, estado, fecha_de_emision,
			enlace_del_cdr, codigo_hash, sunat_responsecode, estado_final_en)
		SELECT 2, 'BA0' || (g / 100000), g % 100000 + 1,
			CASE WHEN g / 100000 = 9 THEN 'pendiente' ELSE 'aceptado' END, current_date - (g % 10),
			CASE WHEN g / 100000 = 9 THEN NULL ELSE 'https://www.nubefact.com/cpe/old.cdr' END,
			CASE WHEN g / 100000 = 9 THEN NULL ELSE 'old=' END,
			CASE WHEN g / 100000 = 9 THEN NULL ELSE '0' END,
			CASE WHEN g / 100000 = 9 THEN NULL ELSE now() END
		FROM generate_series(0, $1::int - 1) g`, tablaFilas); err != nil {
		return nil, err
	}
	if _, err := a.pool.Exec(ctx, `VACUUM ANALYZE comprobantes`); err != nil {
		return nil, err
	}
	fmt.Fprintln(logw, "  reconciler: the metrics' gauge queries, 30 times...")
	gauges, err := gaugeQueries(ctx, a)
	if err != nil {
		return nil, err
	}

	fmt.Fprintln(logw, "  reconciler: baseline (one UPDATE and commit per row, 16 connections)...")
	base, err := baseUpdate(ctx, a)
	if err != nil {
		return nil, err
	}
	// Four drains of 100,000 into the same table, without metrics, with, with, without (ABBA):
	// the inbox and the audit grow drain after drain, and weigh the same on both.
	drains := []struct {
		serie   string
		metrics bool
	}{{"BA06", false}, {seriePend, true}, {"BA07", true}, {"BA08", false}}
	var on, off []float64
	var rss float64
	for i, d := range drains {
		var env []string
		label := "with metrics"
		if !d.metrics {
			env, label = []string{"METRICS=false"}, "with METRICS=false"
		}
		fmt.Fprintf(logw, "  reconciler: draining 100,000 %s, run %d of 4...\n", label, i+1)
		if err := setPending(ctx, a, d.serie); err != nil { // 100,000 pending, as in every drain
			return nil, err
		}
		r, m, err := drain(ctx, e, a, d.serie, backlog, env...)
		if err != nil {
			return nil, err
		}
		if d.metrics {
			on, rss = append(on, r), max(rss, m)
		} else {
			off = append(off, r)
		}
	}
	rate, offRate := mean(on), mean(off)
	esc := "reconciler drain 100k / 1M rows"
	return append([]Result{
		withBaseline(Result{Scenario: esc, Metric: "throughput", Value: rate, Unit: "notif/s"},
			"pgx UPDATE+commit per row, 16 conns", base),
		withBaseline(Result{Scenario: esc, Metric: "throughput, metrics on vs off", Value: rate, Unit: "notif/s"},
			"bin/reconciler with METRICS=false", offRate),
		{Scenario: esc, Metric: "reconciler peak RSS", Value: rss, Unit: "MiB"},
	}, gauges...), nil
}

// setPending sets the rows of series back to pendiente, as the billing system left them.
func setPending(ctx context.Context, a *isolated, series ...string) error {
	if _, err := a.pool.Exec(ctx, `UPDATE comprobantes SET estado = 'pendiente', enlace_del_cdr = NULL, codigo_hash = NULL,
		sunat_responsecode = NULL, estado_final_en = NULL WHERE serie = ANY($1)`, series); err != nil {
		return err
	}
	_, err := a.pool.Exec(ctx, `VACUUM ANALYZE comprobantes`)
	return err
}

// gaugeQueries times postgres.Store.Fotografiar, everything the gauges read, 30 times on the
// table of 1M rows (100k pending over ten days of issue), after checking what it counts.
func gaugeQueries(ctx context.Context, a *isolated) ([]Result, error) {
	store := postgres.New(a.pool)
	var took latencies
	for range 30 {
		start := time.Now()
		f, err := store.Fotografiar(ctx)
		if err != nil {
			return nil, err
		}
		took = append(took, time.Since(start))
		var pendientes, porDia int64
		for _, c := range f.Comprobantes {
			if c.Estado == "pendiente" {
				pendientes = c.N
			}
		}
		for _, p := range f.PendientesPorDia {
			porDia += p.N
		}
		if pendientes != backlog || porDia != backlog {
			return nil, fmt.Errorf("the gauges count %d pending by estado and %d by day, want %d", pendientes, porDia, backlog)
		}
	}
	esc := "metrics' gauge queries, 1M rows / 100k pending"
	return []Result{
		{Scenario: esc, Metric: "p50", Value: ms(took.percentile(50)), Unit: "ms"},
		{Scenario: esc, Metric: "p95", Value: ms(took.percentile(95)), Unit: "ms"},
	}, nil
}

// drain publishes n acceptances for the pending rows of serie and times one bin/reconciler
// (with BENCH_RECONCILER_ENV, then env) until the consumer has none left; it checks that each
// was applied and returns the rate and the reconciler's peak RSS.
func drain(ctx context.Context, e environment, a *isolated, serie string, n int, env ...string) (float64, float64, error) {
	if err := publishBacklog(ctx, a, serie, n); err != nil {
		return 0, 0, err
	}
	return drainPublished(ctx, e, a, serie, n, env...)
}

// drainPublished times one bin/reconciler until the consumer has none of the n notifications of
// serie (already in the stream) left, and checks that each was applied.
func drainPublished(ctx context.Context, e environment, a *isolated, serie string, n int, env ...string) (float64, float64, error) {
	start := time.Now()
	rec, err := startService(ctx, e, "reconciler", slices.Concat(a.env(), strings.Fields(os.Getenv("BENCH_RECONCILER_ENV")), env))
	if err != nil {
		return 0, 0, err
	}
	// Watch the consumer, not the table: counting 100,000 rows every few milliseconds would
	// compete with the reconciler for Postgres.
	cons, err := a.js.Consumer(ctx, a.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		_, _ = rec.stop()
		return 0, 0, err
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			_, _ = rec.stop()
			return 0, 0, err
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if time.Since(start) > 4*time.Minute {
			_, _ = rec.stop()
			return 0, 0, fmt.Errorf("drain: %d notifications still pending after 4 minutes", info.NumPending+uint64(info.NumAckPending))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rate := float64(n) / time.Since(start).Seconds()
	rss, err := rec.stop()
	if err != nil {
		return 0, 0, err
	}
	var audit, aceptados int
	if err := a.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado' AND serie = $1),
		(SELECT count(*) FROM comprobantes WHERE serie = $1 AND estado = 'aceptado')`, serie).Scan(&audit, &aceptados); err != nil ||
		audit != n || aceptados != n {
		return 0, 0, fmt.Errorf("after the drain of %s: %d applied in the audit, %d rows aceptado (%v), want %d", serie, audit, aceptados, err, n)
	}
	return rate, rss, nil
}

func notificacion(c contracts.Clave) []byte {
	b, _ := json.Marshal(simulador.Respuesta(c, simulador.Aceptada))
	return b
}

func baseUpdate(ctx context.Context, a *isolated) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range baseConexes {
		wg.Go(func() {
			for i := next.Add(1); i <= backlog; i = next.Add(1) {
				c := contracts.Clave{TipoDeComprobante: 2, Serie: seriePend, Numero: int(i)}
				n, _ := contracts.Decode(notificacion(c))
				tag, err := a.pool.Exec(ctx, `UPDATE comprobantes SET estado = 'aceptado', enlace = $4, enlace_del_pdf = $5,
						enlace_del_xml = $6, enlace_del_cdr = $7, codigo_hash = $8, sunat_responsecode = $9,
						sunat_description = $10, estado_final_en = now(), actualizado_en = now()
					WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 AND estado = 'pendiente'`,
					c.TipoDeComprobante, c.Serie, c.Numero, n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR,
					n.CodigoHash, n.SunatResponsecode, n.SunatDescription)
				if err == nil && tag.RowsAffected() != 1 {
					err = fmt.Errorf("baseline updated %d rows for %s", tag.RowsAffected(), c)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return backlog / time.Since(start).Seconds(), nil
}

// publishBacklog stores n acceptances of serie in the stream as ingest would (message ID,
// headers), many publishes in flight.
func publishBacklog(ctx context.Context, a *isolated, serie string, backlog int) error {
	subject := a.topo.SubjectNotificacion(contracts.OrigenWebhook)
	futures := make([]jetstream.PubAckFuture, 0, 1024) // under nats.go's limit of async publishes in flight
	for i := 1; i <= backlog; i++ {
		body := notificacion(contracts.Clave{TipoDeComprobante: 2, Serie: serie, Numero: i})
		n, _ := contracts.Decode(body)
		msg := nats.NewMsg(subject)
		msg.Data = body
		msg.Header.Set(contracts.CabeceraRecibido, time.Now().UTC().Format(time.RFC3339Nano))
		f, err := a.js.PublishMsgAsync(msg, jetstream.WithMsgID(contracts.MessageID(n)))
		if err != nil {
			return err
		}
		futures = append(futures, f)
		if len(futures) == cap(futures) || i == backlog {
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					return err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			futures = futures[:0]
		}
	}
	return nil
}
