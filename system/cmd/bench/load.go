package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latencies holds measured durations; percentil reads them.
type latencies []time.Duration

func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// notificacionBody is a valid, distinct accepted-boleta notification for numero: a template
// filled by hand, so the load generator spends its CPU on sending, not on encoding.
func notificacionBody(serie string, numero int64) []byte {
	return fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":%q,"numero":%d,"enlace":"https://www.nubefact.com/cpe/%s-%d",`+
		`"aceptada_por_sunat":true,"sunat_description":"La Boleta de Venta numero %s-%d, ha sido aceptada","sunat_note":null,`+
		`"sunat_responsecode":"0","sunat_soap_error":"","enlace_del_pdf":"https://www.nubefact.com/cpe/%s-%d.pdf",`+
		`"enlace_del_xml":"https://www.nubefact.com/cpe/%s-%d.xml","enlace_del_cdr":"https://www.nubefact.com/cpe/%s-%d.cdr",`+
		`"codigo_hash":"h%010d="}`, serie, numero, serie, numero, serie, numero, serie, numero, serie, numero, serie, numero, numero)
}

// repeatFor runs op from n workers, back to back, for d, and returns the successful operations
// per second, their latencies and the number that failed. Each worker gets its own state from
// nuevo (an HTTP client with a connection of its own, say).
func repeatFor[W any](n int, d time.Duration, nuevo func() W, op func(w W, i int64) bool) (float64, latencies, int64) {
	var seq, fallos atomic.Int64
	var mu sync.Mutex
	var todas latencies
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	start := time.Now()
	for range n {
		wg.Go(func() {
			w := nuevo()
			propias := make(latencies, 0, 64<<10)
			for time.Now().Before(stop) {
				t0 := time.Now()
				if !op(w, seq.Add(1)) {
					fallos.Add(1)
					continue
				}
				propias = append(propias, time.Since(t0))
			}
			mu.Lock()
			todas = append(todas, propias...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return float64(len(todas)) / time.Since(start).Seconds(), todas, fallos.Load()
}

// oneConnClient is an HTTP client that keeps exactly one keep-alive connection.
func oneConnClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
}

// post sends one webhook and reports whether it got 200.
func post(ctx context.Context, c *http.Client, url string, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// httpLoad posts distinct notifications for d with n workers, each on a keep-alive connection
// of its own, and returns the 200s per second and their latencies.
func httpLoad(ctx context.Context, url string, n int, d time.Duration, serie string) (float64, latencies, error) {
	rate, lat, fallos := repeatFor(n, d, oneConnClient, func(c *http.Client, i int64) bool {
		return post(ctx, c, url, notificacionBody(serie, i))
	})
	if fallos > int64(len(lat))/1000 {
		return 0, nil, fmt.Errorf("%d requests to %s failed", fallos, url)
	}
	return rate, lat, nil
}

// serveBaseline is the bare net/http handler of the baseline: it reads the body and answers 200.
func serveBaseline(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/nubefact", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"stored"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	return (&http.Server{Addr: addr, Handler: mux}).ListenAndServe()
}
