package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/system/internal/freeport"
)

const (
	consoleUser     = "bench"
	consolePassword = "bench-password-0123"
	consoleLoads    = 20      // loads of each page
	auditoriaFilas  = 2000000 // two notifications per comprobante
)

// consoleScenario times every page of the ops console on a table of 1,000,000 comprobantes
// (100,000 pending over ten days of issue) with 2,000,000 audit rows (1,000 of them
// conflicts), 20 loads each, and pages through all the pending ones following the console's
// own "next" links, watching the reconciler's memory. The server's time is what the client
// sees on loopback.
func consoleScenario(ctx context.Context, e environment) ([]Result, error) {
	a, err := newIsolated(ctx, e, 4)
	if err != nil {
		return nil, err
	}
	defer a.close()
	fmt.Fprintln(logw, "  console: filling 1,000,000 comprobantes and 2,000,000 audit rows...")
	for _, q := range []string{
		`INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, estado, fecha_de_emision, codigo_hash, enlace_del_cdr)
		SELECT 2, 'BA0' || (g / 100000), g % 100000 + 1, CASE WHEN g / 100000 = 9 THEN 'pendiente' ELSE 'aceptado' END,
			current_date - (g % 10), 'h' || g || '=', 'https://www.nubefact.com/cpe/' || g || '.cdr'
		FROM generate_series(0, 999999) g`,
		`INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, resultado, efecto,
			estado_anterior, estado_nuevo, motivo, payload)
		SELECT 'm' || g, 'webhook', now() - g * interval '1 second', 2, 'BA0' || (g / 2 % 1000000 / 100000), g / 2 % 100000 + 1,
			'aceptado', CASE WHEN g % 2000 = 1 THEN 'conflicto' ELSE 'aplicado' END, 'pendiente', 'aceptado', 'bench',
			'{"serie":"BA00","numero":' || (g / 2 % 100000 + 1) || ',"codigo_hash":"h' || g || '="}'
		FROM generate_series(0, $1::int - 1) g`,
		`VACUUM ANALYZE comprobantes`,
		`VACUUM ANALYZE notificaciones`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, auditoriaFilas)
		}
		if _, err := a.pool.Exec(ctx, q, args...); err != nil {
			return nil, err
		}
	}
	par, err := console.Par(consoleUser, consolePassword)
	if err != nil {
		return nil, err
	}
	var base string
	var rec *service
	if _, err := freeport.Try(func(addr string) error {
		base = "http://" + addr
		var err error
		rec, err = startService(ctx, e, "reconciler", append(a.env(), "CONSOLE_ADDR="+addr, "CONSOLE_USERS="+par))
		return err
	}); err != nil {
		return nil, err
	}
	defer rec.stop()

	get := consoleGet(ctx, base)
	esc := "console, 1M rows / 100k pending / 2M audit"
	var out []Result
	worst := 0.0
	for _, p := range []string{"/", "/pendientes", "/pendientes?plazo=vencido", "/pendientes?serie=BA09&despues=" +
		time.Now().AddDate(0, 0, -5).Format(time.DateOnly) + "_950000", "/comprobantes/2-BA09-777",
		"/conflictos", "/esperando", "/regularizaciones", "/dlq"} {
		fmt.Fprintf(logw, "  console: GET %s x%d...\n", p, consoleLoads)
		var lat latencies
		for range consoleLoads {
			took, _, err := get(p)
			if err != nil {
				return nil, err
			}
			lat = append(lat, took)
		}
		p95 := ms(lat.percentile(95))
		worst = max(worst, p95)
		out = append(out, Result{Scenario: esc, Metric: "GET " + p + " p95", Value: p95, Unit: "ms"})
	}
	out = append(out, Result{Scenario: esc, Metric: "slowest page p95 (target ≤ 100 ms)", Value: worst, Unit: "ms"})

	fmt.Fprintln(logw, "  console: paging through all 100,000 pending, 100 a page...")
	rows := 0
	var rssFirst, rssMax float64
	pages, lat, err := followPages(get, "/pendientes", func(page int, body string) {
		rows += strings.Count(body, `<tr><td><a href="/comprobantes/`)
		if r, err := rss(rec.Pid()); err == nil {
			if page == 10 {
				rssFirst = r
			}
			rssMax = max(rssMax, r)
		}
	})
	if err != nil {
		return nil, err
	}
	if rows != backlog {
		return nil, fmt.Errorf("paging listed %d pending comprobantes in %d pages, want %d", rows, pages, backlog)
	}
	return append(out,
		Result{Scenario: esc, Metric: fmt.Sprintf("paging all %d pages, p95", pages), Value: ms(lat.percentile(95)), Unit: "ms"},
		withBaseline(Result{Scenario: esc, Metric: "reconciler RSS while paging, max", Value: rssMax, Unit: "MiB"},
			"RSS after 10 pages", rssFirst),
	), nil
}

// consoleGet returns a GET of the console at base as the bench's user, which answers how long
// it took and the page, and an error for anything but a 200.
func consoleGet(ctx context.Context, base string) func(path string) (time.Duration, string, error) {
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return func(path string) (time.Duration, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.SetBasicAuth(consoleUser, consolePassword)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		return took, string(body), err
	}
}

// siguientes is a console page's link to the next page of its list.
var siguientes = regexp.MustCompile(`href="(/[a-z]+\?[^"]+)">Siguientes`)

// followPages GETs first and every page its Siguientes links lead to, calling each with the
// page's number (from 1) and body, and returns how many pages there were and their latencies.
func followPages(get func(string) (time.Duration, string, error), first string, each func(page int, body string)) (int, latencies, error) {
	var lat latencies
	path, pages := first, 0
	for path != "" {
		took, body, err := get(path)
		if err != nil {
			return pages, lat, err
		}
		lat = append(lat, took)
		pages++
		each(pages, body)
		path = ""
		if m := siguientes.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return pages, lat, nil
}
