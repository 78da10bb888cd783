package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
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
// the same rows.
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
			CASE WHEN g / 100000 = 9 THEN 'pendiente' ELSE 'aceptado' END, current_date - 3,
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

	fmt.Fprintln(logw, "  reconciler: baseline (one UPDATE and commit per row, 16 connections)...")
	base, err := baseUpdate(ctx, a)
	if err != nil {
		return nil, err
	}
	if _, err := a.pool.Exec(ctx, `UPDATE comprobantes SET estado = 'pendiente', enlace_del_cdr = NULL, codigo_hash = NULL,
		sunat_responsecode = NULL, estado_final_en = NULL WHERE serie = $1`, seriePend); err != nil {
		return nil, err
	}
	if _, err := a.pool.Exec(ctx, `VACUUM ANALYZE comprobantes`); err != nil {
		return nil, err
	}

	fmt.Fprintln(logw, "  reconciler: publishing a backlog of 100,000 notifications...")
	if err := publishBacklog(ctx, a); err != nil {
		return nil, err
	}
	fmt.Fprintln(logw, "  reconciler: draining it with bin/reconciler...")
	start := time.Now()
	rec, err := startService(ctx, e, "reconciler", append(a.env(), strings.Fields(os.Getenv("BENCH_RECONCILER_ENV"))...))
	if err != nil {
		return nil, err
	}
	// Watch the consumer, not the table: counting 100,000 rows every few milliseconds would
	// compete with the reconciler for Postgres.
	cons, err := a.js.Consumer(ctx, a.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		return nil, err
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, err
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if time.Since(start) > 4*time.Minute {
			return nil, fmt.Errorf("drain: %d notifications still pending after 4 minutes", info.NumPending+uint64(info.NumAckPending))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rate := backlog / time.Since(start).Seconds()
	rss, err := rec.stop()
	if err != nil {
		return nil, err
	}
	var audit, aceptados int
	if err := a.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'),
		(SELECT count(*) FROM comprobantes WHERE serie = $1 AND estado = 'aceptado')`, seriePend).Scan(&audit, &aceptados); err != nil ||
		audit != backlog || aceptados != backlog {
		return nil, fmt.Errorf("after the drain: %d applied in the audit, %d rows aceptado (%v), want %d", audit, aceptados, err, backlog)
	}
	return []Result{
		withBaseline(Result{Scenario: "reconciler drain 100k / 1M rows", Metric: "throughput", Value: rate, Unit: "notif/s"},
			"pgx UPDATE+commit per row, 16 conns", base),
		{Scenario: "reconciler drain 100k / 1M rows", Metric: "reconciler peak RSS", Value: rss, Unit: "MiB"},
	}, nil
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

// publishBacklog stores the 100,000 notifications in the stream as ingest would (message ID,
// headers), many publishes in flight.
func publishBacklog(ctx context.Context, a *isolated) error {
	subject := a.topo.SubjectNotificaciones()
	futures := make([]jetstream.PubAckFuture, 0, 4096)
	for i := 1; i <= backlog; i++ {
		body := notificacion(contracts.Clave{TipoDeComprobante: 2, Serie: seriePend, Numero: i})
		n, _ := contracts.Decode(body)
		msg := nats.NewMsg(subject)
		msg.Data = body
		msg.Header.Set(contracts.HeaderOrigen, contracts.OrigenWebhook)
		msg.Header.Set(contracts.HeaderRecibido, time.Now().UTC().Format(time.RFC3339Nano))
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
