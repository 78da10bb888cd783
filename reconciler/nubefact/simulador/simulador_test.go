package simulador_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

const token = "tok-sim-4c1d"

var boleta = contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BBB1", Numero: 105}

// destino is where a test sends its requests: the simulator behind a real listener, or its
// handler in memory.
type destino struct {
	url    string
	client *http.Client
}

// servidor serves a new simulator on a loopback listener until the test ends.
func servidor(tb testing.TB) (*simulador.Simulador, destino) {
	tb.Helper()
	sim := simulador.New(token)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return sim, destino{url: srv.URL, client: srv.Client()}
}

// enMemoria serves a new simulator without a listener, for the tests of its timing: they run in
// a synctest bubble, where the clock is virtual and real network I/O cannot run.
func enMemoria() (*simulador.Simulador, destino) {
	sim := simulador.New(token)
	return sim, destino{url: "http://simulador.test", client: &http.Client{Transport: transporte{sim.Handler()}}}
}

// transporte answers each request with h, in the caller's goroutine. Like a real transport, it
// fails with the request's context error when the caller went away.
type transporte struct{ h http.Handler }

func (tr transporte) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	tr.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// llamada is one raw HTTP request to the simulator, with the defaults of a correct Operation 2
// call for boleta; each field set replaces its default.
type llamada struct {
	ruta, autorizacion, contentType, body string
}

func (l llamada) conDefectos(sim *simulador.Simulador) llamada {
	if l.ruta == "" {
		l.ruta = sim.Ruta
	}
	if l.autorizacion == "" {
		l.autorizacion = `Token token="` + token + `"`
	}
	if l.contentType == "" {
		l.contentType = "application/json"
	}
	if l.body == "" {
		l.body = consulta(boleta)
	}
	return l
}

func consulta(c contracts.Clave) string {
	return `{"operacion":"consultar_comprobante","tipo_de_comprobante":` + strconv.Itoa(c.TipoDeComprobante) +
		`,"serie":"` + c.Serie + `","numero":` + strconv.Itoa(c.Numero) + `}`
}

// respuesta is the simulator's answer: its status and its body, decoded as an error when it
// has a codigo and as a notification otherwise.
type respuesta struct {
	status int
	codigo int
	n      contracts.Notificacion
	body   []byte
}

func enviar(tb testing.TB, sim *simulador.Simulador, srv destino, l llamada) respuesta {
	tb.Helper()
	l = l.conDefectos(sim)
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, srv.url+l.ruta, strings.NewReader(l.body))
	if err != nil {
		tb.Fatal(err)
	}
	if l.autorizacion != "-" {
		req.Header.Set("Authorization", l.autorizacion)
	}
	if l.contentType != "-" {
		req.Header.Set("Content-Type", l.contentType)
	}
	resp, err := srv.client.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", l.ruta, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	r := respuesta{status: resp.StatusCode, body: body}
	var e struct {
		Errors string `json:"errors"`
		Codigo int    `json:"codigo"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Fatalf("answer %s: %v", body, err)
	}
	if e.Codigo != 0 {
		if e.Errors == "" {
			tb.Errorf("error answer %s has no message", body)
		}
		r.codigo = e.Codigo
		return r
	}
	if r.n, err = contracts.Decode(body); err != nil {
		tb.Fatalf("answer %s: %v", body, err)
	}
	return r
}

func control(tb testing.TB, srv destino, metodo, ruta, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), metodo, srv.url+ruta, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := srv.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", metodo, ruta, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// esResultado fails tb unless r is a notification about clave with outcome want.
func esResultado(tb testing.TB, r respuesta, clave contracts.Clave, want contracts.Resultado) {
	tb.Helper()
	if r.status != http.StatusOK || r.codigo != 0 {
		tb.Fatalf("answer HTTP %d %s, want 200 with a notification", r.status, r.body)
	}
	if got := r.n.Clave(); got != clave {
		tb.Errorf("answer about %v, want %v", got, clave)
	}
	if got := r.n.Resultado(); got != want {
		tb.Errorf("Resultado() = %q, want %q", got, want)
	}
}

func esError(tb testing.TB, r respuesta, status, codigo int) {
	tb.Helper()
	if r.status != status || r.codigo != codigo {
		tb.Errorf("answer HTTP %d codigo %d (%s), want HTTP %d codigo %d", r.status, r.codigo, r.body, status, codigo)
	}
}

func TestSimuladorToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, autorizacion string
		ok                 bool
	}{
		{"Token token= form", `Token token="` + token + `"`, true},
		{"bare token", token, true},
		{"wrong token", `Token token="otro"`, false},
		{"wrong bare token", "otro", false},
		{"no Authorization", "-", false},
		{"another scheme", "Bearer " + token, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, srv := servidor(t)
			sim.Poner(boleta, simulador.Aceptada)
			r := enviar(t, sim, srv, llamada{autorizacion: tt.autorizacion})
			if tt.ok {
				esResultado(t, r, boleta, contracts.Aceptado)
			} else {
				esError(t, r, http.StatusUnauthorized, 10)
			}
		})
	}
}

func TestSimuladorErroresDeFormato(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		l      llamada
		status int
		codigo int
	}{
		{"wrong path", llamada{ruta: "/api/v1/wrong"}, http.StatusUnauthorized, 11},
		{"wrong path and token", llamada{ruta: "/api/v1/wrong", autorizacion: "otro"}, http.StatusUnauthorized, 11},
		{"text/plain", llamada{contentType: "text/plain"}, http.StatusBadRequest, 12},
		{"no Content-Type", llamada{contentType: "-"}, http.StatusBadRequest, 12},
		{"Content-Type with charset", llamada{contentType: "application/json; charset=utf-8"}, http.StatusOK, 0},
		{"body not JSON", llamada{body: "operacion=consultar_comprobante"}, http.StatusBadRequest, 20},
		{"wrong operacion", llamada{body: `{"operacion":"generar_comprobante","tipo_de_comprobante":2,"serie":"BBB1","numero":105}`}, http.StatusBadRequest, 20},
		{"numero as a string", llamada{body: `{"operacion":"consultar_comprobante","tipo_de_comprobante":2,"serie":"BBB1","numero":"105"}`}, http.StatusBadRequest, 20},
		{"unknown comprobante", llamada{body: consulta(contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 999})}, http.StatusBadRequest, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, srv := servidor(t)
			sim.Poner(boleta, simulador.Aceptada)
			r := enviar(t, sim, srv, tt.l)
			if tt.codigo == 0 {
				esResultado(t, r, boleta, contracts.Aceptado)
				return
			}
			esError(t, r, tt.status, tt.codigo)
		})
	}
}

func TestSimuladorPorDefecto(t *testing.T) {
	t.Parallel()
	sim, srv := servidor(t)
	otra := contracts.Clave{TipoDeComprobante: 2, Serie: "BBB2", Numero: 7}
	esError(t, enviar(t, sim, srv, llamada{body: consulta(otra)}), http.StatusBadRequest, 24)

	sim.PorDefecto(simulador.Aceptada)
	sim.Poner(boleta, simulador.Rechazada)
	esResultado(t, enviar(t, sim, srv, llamada{body: consulta(otra)}), otra, contracts.Aceptado)
	esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Rechazado)
}

func TestSimuladorFallar(t *testing.T) {
	t.Parallel()
	sim, srv := servidor(t)
	sim.Poner(boleta, simulador.Aceptada)
	otra := contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 106}
	sim.Poner(otra, simulador.Anulada)
	sim.Fallar(boleta, 21, 40)

	esResultado(t, enviar(t, sim, srv, llamada{body: consulta(otra)}), otra, contracts.Anulado)
	esError(t, enviar(t, sim, srv, llamada{}), http.StatusBadRequest, 21)
	esError(t, enviar(t, sim, srv, llamada{}), http.StatusInternalServerError, 40)
	esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
}

func TestSimuladorFallarTodo(t *testing.T) {
	t.Parallel()
	sim, srv := servidor(t)
	sim.Poner(boleta, simulador.Aceptada)
	sim.FallarTodo(50)
	esError(t, enviar(t, sim, srv, llamada{}), http.StatusUnauthorized, 50)
	esError(t, enviar(t, sim, srv, llamada{body: consulta(contracts.Clave{TipoDeComprobante: 2, Serie: "BBB9", Numero: 1})}), http.StatusUnauthorized, 50)
	// The token is checked first: a wrong token is still codigo 10.
	esError(t, enviar(t, sim, srv, llamada{autorizacion: "otro"}), http.StatusUnauthorized, 10)
	sim.FallarTodo(0)
	esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
}

// In the bubble the clock moves only while every goroutine waits: the answer takes exactly the
// latency set.
func TestSimuladorLatencia(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, srv := enMemoria()
		sim.Poner(boleta, simulador.Aceptada)
		const d = 80 * time.Millisecond
		sim.Latencia(d)
		start := time.Now()
		esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
		if took := time.Since(start); took != d {
			t.Errorf("the answer took %v, want %v", took, d)
		}
		// Latencia(0) restores answers without delay.
		sim.Latencia(time.Hour)
		sim.Latencia(0)
		start = time.Now()
		esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
		if took := time.Since(start); took != 0 {
			t.Errorf("after Latencia(0) the answer took %v, want none", took)
		}
	})
}

// A caller that goes away ends the latency: the server can then close at once, as tests of
// Ctrl-C against a stalled NubeFacT need. With an hour of latency, the clock not moving proves it.
func TestSimuladorLatenciaTerminaSiElClienteSeVa(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sim, srv := enMemoria()
		sim.Poner(boleta, simulador.Aceptada)
		sim.Latencia(time.Hour)
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+sim.Ruta, strings.NewReader(consulta(boleta)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", `Token token="`+token+`"`)
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			resp, err := srv.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		synctest.Wait() // the call is in its latency
		if got := sim.Llamadas(); got != 1 {
			t.Fatalf("Llamadas() = %d while the call waits, want 1", got)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want context.Canceled", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the handler returned %v after its caller went away, want at once", took)
		}
	})
}

func TestSimuladorLlamadas(t *testing.T) {
	t.Parallel()
	sim, srv := servidor(t)
	sim.Poner(boleta, simulador.Aceptada)
	const n = 20
	var (
		wg  sync.WaitGroup
		oks atomic.Int64
	)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.url+sim.Ruta, strings.NewReader(consulta(boleta)))
			req.Header.Set("Authorization", token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.client.Do(req)
			if err != nil {
				t.Errorf("POST: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				oks.Add(1)
			}
		})
	}
	wg.Wait()
	if got := oks.Load(); got != n {
		t.Errorf("%d of %d concurrent calls answered 200", got, n)
	}
	// Refused Operation 2 calls count too; calls outside the RUTA do not.
	enviar(t, sim, srv, llamada{autorizacion: "otro"})
	enviar(t, sim, srv, llamada{ruta: "/api/v1/wrong"})
	if got := sim.Llamadas(); got != n+1 {
		t.Errorf("Llamadas() = %d, want %d", got, n+1)
	}
	status, body := control(t, srv, http.MethodGet, "/_sim/llamadas", "")
	if status != http.StatusOK || strings.TrimSpace(body) != strconv.Itoa(n+1) {
		t.Errorf("GET /_sim/llamadas = %d %q, want 200 %q", status, body, strconv.Itoa(n+1))
	}
}

func TestSimuladorControl(t *testing.T) {
	t.Parallel()
	siete := contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 7}
	desconocida := contracts.Clave{TipoDeComprobante: 2, Serie: "BBB3", Numero: 1}

	t.Run("comprobantes", func(t *testing.T) {
		t.Parallel()
		sim, srv := servidor(t)
		if status, body := control(t, srv, http.MethodPut, "/_sim/comprobantes/2/BBB1/7", "rechazada\n"); status != http.StatusOK {
			t.Fatalf("PUT = %d %s", status, body)
		}
		esResultado(t, enviar(t, sim, srv, llamada{body: consulta(siete)}), siete, contracts.Rechazado)
		if status, _ := control(t, srv, http.MethodPut, "/_sim/comprobantes/dos/BBB1/7", "aceptada"); status != http.StatusBadRequest {
			t.Errorf("PUT with a non-numeric tipo = %d, want 400", status)
		}
	})

	t.Run("defecto", func(t *testing.T) {
		t.Parallel()
		sim, srv := servidor(t)
		if status, body := control(t, srv, http.MethodPut, "/_sim/defecto/aceptada", ""); status != http.StatusOK {
			t.Fatalf("PUT = %d %s", status, body)
		}
		esResultado(t, enviar(t, sim, srv, llamada{body: consulta(desconocida)}), desconocida, contracts.Aceptado)
	})

	t.Run("latencia", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			sim, srv := enMemoria()
			sim.PorDefecto(simulador.Aceptada)
			if status, body := control(t, srv, http.MethodPut, "/_sim/latencia/60ms", ""); status != http.StatusOK {
				t.Fatalf("PUT = %d %s", status, body)
			}
			start := time.Now()
			esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
			if took := time.Since(start); took != 60*time.Millisecond {
				t.Errorf("the answer took %v, want 60ms", took)
			}
			if status, _ := control(t, srv, http.MethodPut, "/_sim/latencia/10ms", ""); status != http.StatusOK {
				t.Errorf("PUT /_sim/latencia/10ms = %d, want 200", status)
			}
			if status, _ := control(t, srv, http.MethodPut, "/_sim/latencia/pronto", ""); status != http.StatusBadRequest {
				t.Errorf("PUT /_sim/latencia/pronto = %d, want 400", status)
			}
		})
	})

	t.Run("falla", func(t *testing.T) {
		t.Parallel()
		sim, srv := servidor(t)
		sim.PorDefecto(simulador.Aceptada)
		if status, body := control(t, srv, http.MethodPut, "/_sim/falla/40", ""); status != http.StatusOK {
			t.Fatalf("PUT = %d %s", status, body)
		}
		esError(t, enviar(t, sim, srv, llamada{}), http.StatusInternalServerError, 40)
		esError(t, enviar(t, sim, srv, llamada{}), http.StatusInternalServerError, 40)
		if status, _ := control(t, srv, http.MethodPut, "/_sim/falla/0", ""); status != http.StatusOK {
			t.Fatalf("PUT /_sim/falla/0 = %d", status)
		}
		esResultado(t, enviar(t, sim, srv, llamada{}), boleta, contracts.Aceptado)
		if status, _ := control(t, srv, http.MethodPut, "/_sim/falla/x", ""); status != http.StatusBadRequest {
			t.Errorf("PUT /_sim/falla/x = %d, want 400", status)
		}
	})
}

func decodificar(tb testing.TB, m map[string]any) contracts.Notificacion {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := contracts.Decode(b)
	if err != nil {
		tb.Fatalf("Decode(%s): %v", b, err)
	}
	return n
}

func TestSimuladorRespuesta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    simulador.Situacion
		want contracts.Resultado
		cdr  bool
	}{
		{simulador.Aceptada, contracts.Aceptado, true},
		{simulador.Rechazada, contracts.Rechazado, true},
		{simulador.Anulada, contracts.Anulado, true},
		{simulador.Pendiente, contracts.SinResultado, false},
	}
	otra := contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 106}
	for _, tt := range tests {
		t.Run(string(tt.r), func(t *testing.T) {
			t.Parallel()
			a := decodificar(t, simulador.Respuesta(boleta, tt.r))
			b := decodificar(t, simulador.Respuesta(boleta, tt.r))
			if got := a.Resultado(); got != tt.want {
				t.Errorf("Resultado() = %q, want %q", got, tt.want)
			}
			if got := a.Clave(); got != boleta {
				t.Errorf("Clave() = %v, want %v", got, boleta)
			}
			if a.CodigoHash == nil || *a.CodigoHash == "" {
				t.Fatal("no codigo_hash")
			}
			if b.CodigoHash == nil || *a.CodigoHash != *b.CodigoHash {
				t.Errorf("codigo_hash differs between two answers: %v, %v", *a.CodigoHash, b.CodigoHash)
			}
			if ida, idb := contracts.MessageID(a), contracts.MessageID(b); ida != idb {
				t.Errorf("MessageID differs between two answers: %s, %s", ida, idb)
			}
			if o := decodificar(t, simulador.Respuesta(otra, tt.r)); *o.CodigoHash == *a.CodigoHash {
				t.Errorf("%v and %v share codigo_hash %s", boleta, otra, *a.CodigoHash)
			}
			if got := a.EnlaceDelCDR != nil; got != tt.cdr {
				t.Errorf("enlace_del_cdr present = %v, want %v", got, tt.cdr)
			}

			// Operation 2 answers exactly that.
			sim, srv := servidor(t)
			sim.Poner(boleta, tt.r)
			r := enviar(t, sim, srv, llamada{})
			esResultado(t, r, boleta, tt.want)
			if got, want := contracts.MessageID(r.n), contracts.MessageID(a); got != want {
				t.Errorf("MessageID of Operation 2's answer = %s, want %s", got, want)
			}
		})
	}
}

// Webhook posts with http.DefaultClient. Its tests run in a synctest bubble, where real network
// I/O cannot run: for their duration the default client answers in memory, with the handler of
// the test's destination. Not parallel, so that no other test uses the default client meanwhile.
func TestSimuladorWebhook(t *testing.T) {
	// webhookA sends Webhook's requests to h for the rest of the test.
	webhookA := func(t *testing.T, h http.HandlerFunc) {
		c := http.DefaultClient
		t.Cleanup(func() { http.DefaultClient = c })
		http.DefaultClient = &http.Client{Transport: transporte{h}}
	}

	t.Run("retries until 200", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var (
				n      atomic.Int64
				mu     sync.Mutex
				bodies [][]byte
			)
			webhookA(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("webhook Content-Type = %q", ct)
				}
				mu.Lock()
				bodies = append(bodies, b)
				mu.Unlock()
				if n.Add(1) <= 2 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			})
			sim := simulador.New(token)
			sim.Poner(boleta, simulador.Aceptada)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := time.Now()
			intentos, err := sim.Webhook(ctx, "http://ingest.test/webhooks/nubefact", boleta, time.Millisecond)
			if err != nil || intentos != 3 {
				t.Fatalf("Webhook = %d, %v; want 3, nil", intentos, err)
			}
			if took := time.Since(start); took != 2*time.Millisecond {
				t.Errorf("three attempts a millisecond apart took %v, want 2ms", took)
			}
			mu.Lock()
			defer mu.Unlock()
			want := contracts.MessageID(decodificar(t, simulador.Respuesta(boleta, simulador.Aceptada)))
			for i, b := range bodies {
				n, err := contracts.Decode(b)
				if err != nil {
					t.Fatalf("delivery %d: %v", i+1, err)
				}
				if got := contracts.MessageID(n); got != want {
					t.Errorf("delivery %d: MessageID %s, want %s", i+1, got, want)
				}
			}
		})
	})

	t.Run("gives up when the context ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			webhookA(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
			sim := simulador.New(token)
			sim.PorDefecto(simulador.Aceptada)
			// Not a multiple of 5 ms: the deadline never ties with a retry.
			ctx, cancel := context.WithTimeout(t.Context(), 62*time.Millisecond)
			defer cancel()
			intentos, err := sim.Webhook(ctx, "http://ingest.test/webhooks/nubefact", boleta, 5*time.Millisecond)
			if err == nil {
				t.Fatalf("Webhook = %d, nil; want an error", intentos)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			// An attempt at 0, 5, ..., 60 ms; the wait after the last one ends with the context.
			if intentos != 13 {
				t.Errorf("Webhook gave up after %d attempts, want 13 (one every 5ms for 62ms)", intentos)
			}
		})
	})
}
