package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/nats-io/nats.go"
)

const (
	paginasAparcadas   = 100000 // waiting notifications of 4 KiB
	paginasHistoria    = 10000  // audit rows (conflicts) of one comprobante, 4 KiB each
	paginasDeadLetters = 300    // dead letters of 4 KiB
	paginasCargas      = 20     // loads of each page
)

// paginasScenario is "one leaked webhook token must cost little": 100,000 notifications of
// 4 KiB waiting for comprobantes that do not exist, one comprobante with 10,000 conflicts of
// 4 KiB in its timeline, 300 dead letters. It times the console's pages over them (20 loads
// each, then three clients at once) and pages through every waiting notification by the
// console's own links, and compares the reconciler's peak memory with its own when idle on the
// same data.
//
// Its baseline is the same reconciler serving the same loads over empty tables: any page
// load lifts a Go process from its idle size to its working heap (a few MiB, whatever the
// data), so the question is whether the data's volume shows in the memory. The peak on the
// data is also given against the reconciler idle on the same data.
func paginasScenario(ctx context.Context, e environment) ([]Result, error) {
	fmt.Fprintln(logw, "  pages: the same loads on empty tables first...")
	_, vacio, _, err := paginasLoads(ctx, e, false)
	if err != nil {
		return nil, err
	}
	out, lleno, idle, err := paginasLoads(ctx, e, true)
	if err != nil {
		return nil, err
	}
	esc := "pages, 100k parked of 4 KiB / 10k-row timeline"
	return append(out,
		withBaseline(Result{Scenario: esc, Metric: "reconciler peak RSS (target ≤ 1.2× the same loads on empty tables)", Value: lleno, Unit: "MiB"},
			"peak RSS, same loads on empty tables", vacio),
		withBaseline(Result{Scenario: esc, Metric: "reconciler peak RSS against idle", Value: lleno, Unit: "MiB"},
			"peak RSS idle on the same data", idle),
	), nil
}

// paginasLoads runs the scenario's loads on a database of its own, filled when lleno, and
// returns their figures, the reconciler's peak RSS after them and idle before them.
func paginasLoads(ctx context.Context, e environment, lleno bool) (_ []Result, peak, idle float64, _ error) {
	a, err := newIsolated(ctx, e, 4)
	if err != nil {
		return nil, 0, 0, err
	}
	defer a.close()
	if lleno {
		if err := paginasLlenar(ctx, a); err != nil {
			return nil, 0, 0, err
		}
	}
	par, err := console.Par(consoleUser, consolePassword)
	if err != nil {
		return nil, 0, 0, err
	}
	var base string
	var rec *service
	if _, err := freeport.Try(func(addr string) error {
		base = "http://" + addr
		var err error
		rec, err = startService(ctx, e, "reconciler", append(a.env(), "CONSOLE_ADDR="+addr, "CONSOLE_USERS="+par))
		return err
	}); err != nil {
		return nil, 0, 0, err
	}
	defer rec.stop()

	// Idle: started, its loops have run once over the data (the first sweep is at start).
	select {
	case <-ctx.Done():
		return nil, 0, 0, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	if idle, err = peakRSS(rec.Pid()); err != nil {
		return nil, 0, 0, err
	}

	get := consoleGet(ctx, base)
	esc := "pages, 100k parked of 4 KiB / 10k-row timeline"
	var out []Result
	paginas := []string{"/esperando", "/comprobantes/2-BPAG-1", "/conflictos", "/dlq"}
	for _, p := range paginas {
		fmt.Fprintf(logw, "  pages: GET %s x%d (data: %v)...\n", p, paginasCargas, lleno)
		var lat latencies
		for range paginasCargas {
			took, _, err := get(p)
			if err != nil {
				return nil, 0, 0, err
			}
			lat = append(lat, took)
		}
		out = append(out, Result{Scenario: esc, Metric: "GET " + p + " p95", Value: ms(lat.percentile(95)), Unit: "ms"})
	}

	fmt.Fprintln(logw, "  pages: three clients at once on every page...")
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			for range 5 {
				for _, p := range paginas {
					if _, _, err := get(p); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, 0, 0, err
	}

	fmt.Fprintln(logw, "  pages: following /esperando's links through all 100,000...")
	fila := regexp.MustCompile(`<td><form method="post" action="/esperando/`)
	rows := 0
	pages, lat, err := followPages(get, "/esperando", func(_ int, body string) { rows += len(fila.FindAllStringIndex(body, -1)) })
	if err != nil {
		return nil, 0, 0, err
	}
	if want := map[bool]int{true: paginasAparcadas}[lleno]; rows != want {
		return nil, 0, 0, fmt.Errorf("paging listed %d parked notifications in %d pages, want %d", rows, pages, want)
	}
	if peak, err = peakRSS(rec.Pid()); err != nil {
		return nil, 0, 0, err
	}
	return append(out, Result{Scenario: esc, Metric: fmt.Sprintf("/esperando, all %d pages, p95", pages), Value: ms(lat.percentile(95)), Unit: "ms"}), peak, idle, nil
}

// paginasLlenar parks 100,000 notifications of 4 KiB, gives one comprobante 10,000 conflicts of
// 4 KiB and puts 300 dead letters of 4 KiB in the DLQ.
func paginasLlenar(ctx context.Context, a *isolated) error {
	fmt.Fprintln(logw, "  pages: filling 100,000 parked notifications, 10,000 audit rows of one comprobante, 300 dead letters...")
	payload := `{"tipo_de_comprobante":2,"serie":"BPAG","numero":1,"aceptada_por_sunat":true,"relleno":"` + strings.Repeat("x", 4000) + `"}`
	for _, q := range []string{
		`INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, motivo, intentos, payload, aparcada_en)
		SELECT 'm' || g, 'webhook', now(), 2, 'BFAL', g, 'el comprobante no está en la tabla', 1, $1,
			now() - (200000 - g) * interval '1 second'
		FROM generate_series(1, ` + fmt.Sprint(paginasAparcadas) + `) g`,
		`INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, estado, codigo_hash) VALUES (2, 'BPAG', 1, 'aceptado', 'h=')`,
		`INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, resultado, efecto,
			estado_anterior, estado_nuevo, motivo, payload)
		SELECT 'c' || g, 'webhook', now() - (20000 - g) * interval '1 second', 2, 'BPAG', 1, 'aceptado', 'conflicto',
			'aceptado', 'aceptado', 'otro codigo_hash que el guardado', $1
		FROM generate_series(1, ` + fmt.Sprint(paginasHistoria) + `) g`,
		`VACUUM ANALYZE aparcadas`,
		`VACUUM ANALYZE notificaciones`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, payload)
		}
		if _, err := a.pool.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	for i := range paginasDeadLetters {
		m := nats.NewMsg(a.topo.SubjectDeadLetters())
		m.Data = []byte(payload)
		m.Header.Set(contracts.CabeceraMotivo, fmt.Sprint("bench ", i))
		if _, err := a.js.PublishMsg(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
