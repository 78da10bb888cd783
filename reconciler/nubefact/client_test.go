package nubefact_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

// token is distinctive enough that finding it in an error's text cannot be a coincidence.
const token = "tok-9f3a61c2e8d54b7f-SECRETO"

// cuentaID stands for the account identifier a real RUTA carries in its path.
const cuentaID = "5d0c1e2a-7f3b-4c6d-9e8f-CUENTA"

var boleta = contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BBB1", Numero: 105}

// cuenta is one simulated NubeFacT account served over real HTTP.
type cuenta struct {
	sim *simulador.Simulador
	srv *httptest.Server
}

func nuevaCuenta(tb testing.TB) cuenta {
	tb.Helper()
	sim := simulador.New(token)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	return cuenta{sim: sim, srv: srv}
}

func (c cuenta) ruta() string { return c.srv.URL + c.sim.Ruta }

// cliente returns a client of ruta with fast retries, so that tests of retrying stay quick.
func cliente(tb testing.TB, ruta, tok string, timeout time.Duration, retries int) *nubefact.Client {
	tb.Helper()
	c, err := nubefact.New(ruta, tok, timeout)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	c.Retries, c.Backoff, c.MaxBackoff = retries, time.Millisecond, 5*time.Millisecond
	return c
}

// esperada is the notification the simulator's answer for clave with outcome r decodes into.
func esperada(tb testing.TB, clave contracts.Clave, r simulador.Situacion) contracts.Notificacion {
	tb.Helper()
	body, err := json.Marshal(simulador.Respuesta(clave, r))
	if err != nil {
		tb.Fatal(err)
	}
	n, err := contracts.Decode(body)
	if err != nil {
		tb.Fatalf("decode the simulator's answer: %v", err)
	}
	return n
}

// sinToken fails tb when err's text reveals the token.
func sinToken(tb testing.TB, err error) {
	tb.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		tb.Errorf("error reveals the token: %v", err)
	}
	// The RUTA's account identifier stays out of errors too (they reach logs and reports).
	if err != nil && (strings.Contains(err.Error(), cuentaID) ||
		strings.Contains(err.Error(), "/api/v1/") && !strings.Contains(err.Error(), "/api/v1/<uuid>")) {
		tb.Errorf("error reveals the RUTA: %v", err)
	}
}

func llamadas(tb testing.TB, sim *simulador.Simulador, want int64) {
	tb.Helper()
	if got := sim.Llamadas(); got != want {
		tb.Errorf("the simulator received %d calls, want %d", got, want)
	}
}

func TestClienteConsultarResultados(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sim  simulador.Situacion
		want contracts.Resultado
	}{
		{simulador.Aceptada, contracts.Aceptado},
		{simulador.Rechazada, contracts.Rechazado},
		{simulador.Anulada, contracts.Anulado},
		{simulador.Pendiente, contracts.SinResultado},
	}
	for _, tt := range tests {
		t.Run(string(tt.sim), func(t *testing.T) {
			t.Parallel()
			c := nuevaCuenta(t)
			c.sim.Poner(boleta, tt.sim)
			n, err := cliente(t, c.ruta(), token, 2*time.Second, 0).Consultar(t.Context(), boleta)
			if err != nil {
				t.Fatalf("Consultar: %v", err)
			}
			if got := n.Resultado(); got != tt.want {
				t.Errorf("Resultado() = %q, want %q", got, tt.want)
			}
			if got := n.Clave(); got != boleta {
				t.Errorf("Clave() = %v, want %v", got, boleta)
			}
			if want := esperada(t, boleta, tt.sim); !reflect.DeepEqual(n, want) {
				got, _ := json.Marshal(n)
				w, _ := json.Marshal(want)
				t.Errorf("answer:\ngot  %s\nwant %s", got, w)
			}
			llamadas(t, c.sim, 1)
		})
	}

	t.Run("aceptada carries the CDR and the hash", func(t *testing.T) {
		t.Parallel()
		c := nuevaCuenta(t)
		c.sim.Poner(boleta, simulador.Aceptada)
		n, err := cliente(t, c.ruta(), token, 2*time.Second, 0).Consultar(t.Context(), boleta)
		if err != nil {
			t.Fatalf("Consultar: %v", err)
		}
		want := simulador.Respuesta(boleta, simulador.Aceptada)
		if n.EnlaceDelCDR == nil || *n.EnlaceDelCDR != want["enlace_del_cdr"] {
			t.Errorf("enlace_del_cdr = %v, want %v", n.EnlaceDelCDR, want["enlace_del_cdr"])
		}
		if n.CodigoHash == nil || *n.CodigoHash == "" || *n.CodigoHash != want["codigo_hash"] {
			t.Errorf("codigo_hash = %v, want %v", n.CodigoHash, want["codigo_hash"])
		}
	})
}

// peticion is what the client sent, as the server saw it.
type peticion struct {
	metodo, ruta, autorizacion, contentType string
	body                                    []byte
}

func TestClienteEnviaConsulta(t *testing.T) {
	t.Parallel()
	sim := simulador.New(token)
	sim.Poner(boleta, simulador.Aceptada)
	var (
		mu        sync.Mutex
		recibidas []peticion
	)
	h := sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request: %v", err)
		}
		mu.Lock()
		recibidas = append(recibidas, peticion{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
		mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	if _, err := cliente(t, srv.URL+sim.Ruta, token, 2*time.Second, 0).Consultar(t.Context(), boleta); err != nil {
		t.Fatalf("Consultar: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recibidas) != 1 {
		t.Fatalf("the server received %d requests, want 1", len(recibidas))
	}
	p := recibidas[0]
	if p.metodo != http.MethodPost || p.ruta != sim.Ruta {
		t.Errorf("request line = %s %s, want POST %s", p.metodo, p.ruta, sim.Ruta)
	}
	if want := `Token token="` + token + `"`; p.autorizacion != want {
		t.Errorf("Authorization = %q, want %q", p.autorizacion, want)
	}
	if p.contentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", p.contentType)
	}
	var got map[string]any
	if err := json.Unmarshal(p.body, &got); err != nil {
		t.Fatalf("body %s: %v", p.body, err)
	}
	want := map[string]any{"operacion": "consultar_comprobante", "tipo_de_comprobante": 2.0, "serie": "BBB1", "numero": 105.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s, want %v", p.body, want)
	}
}

func TestClienteClasificaErrores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		codigo    int
		preparar  func(c cuenta) (ruta, tok string)
		fatal     bool
		noExiste  bool
		retryable bool
	}{
		{name: "10 injected", codigo: 10, fatal: true},
		{name: "10 wrong token", codigo: 10, fatal: true,
			preparar: func(c cuenta) (string, string) { return c.ruta(), "otro-token" }},
		{name: "11 wrong RUTA", codigo: 11, fatal: true,
			preparar: func(c cuenta) (string, string) { return c.srv.URL + "/api/v1/wrong", token }},
		{name: "12", codigo: 12, fatal: true},
		{name: "50", codigo: 50, fatal: true},
		{name: "51", codigo: 51, fatal: true},
		{name: "24 injected", codigo: 24, noExiste: true},
		{name: "24 never sent", codigo: 24, noExiste: true,
			preparar: func(c cuenta) (string, string) {
				c.sim.Poner(boleta, simulador.NoExiste)
				return c.ruta(), token
			}},
		{name: "20", codigo: 20},
		{name: "21", codigo: 21},
		{name: "22", codigo: 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := nuevaCuenta(t)
			c.sim.Poner(boleta, simulador.Aceptada)
			ruta, tok := c.ruta(), token
			if tt.preparar != nil {
				ruta, tok = tt.preparar(c)
			} else {
				c.sim.Fallar(boleta, tt.codigo)
			}
			// Retries would show up as extra calls: none of these may be retried.
			_, err := cliente(t, ruta, tok, 2*time.Second, 3).Consultar(t.Context(), boleta)
			var e *nubefact.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *nubefact.Error", err, err)
			}
			if e.Codigo != tt.codigo {
				t.Errorf("Codigo = %d, want %d", e.Codigo, tt.codigo)
			}
			if !strings.Contains(err.Error(), "codigo") {
				t.Errorf("error %q does not name the codigo", err)
			}
			if got := nubefact.Fatal(err); got != tt.fatal {
				t.Errorf("Fatal = %v, want %v", got, tt.fatal)
			}
			if got := nubefact.QueHacer(err) != ""; got != tt.fatal {
				t.Errorf("QueHacer = %q: want it non-empty exactly when fatal (%v)", nubefact.QueHacer(err), tt.fatal)
			}
			if got := nubefact.NoExiste(err); got != tt.noExiste {
				t.Errorf("NoExiste = %v, want %v", got, tt.noExiste)
			}
			// The same answers by behaviour, for callers that do not import this package.
			var f interface {
				Fatal() bool
				NoExiste() bool
			}
			if !errors.As(err, &f) || f.Fatal() != tt.fatal || f.NoExiste() != tt.noExiste {
				t.Errorf("by behaviour: Fatal/NoExiste methods disagree with the functions on %v", err)
			}
			if got := nubefact.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
			wantResultado := map[bool]string{true: "fatal", false: "error"}[tt.fatal]
			if tt.noExiste {
				wantResultado = "no_existe"
			}
			if got := nubefact.ResultadoDe(err); got != wantResultado {
				t.Errorf("ResultadoDe = %q, want %q", got, wantResultado)
			}
			sinToken(t, err)
			if tt.name != "11 wrong RUTA" { // the wrong RUTA never reaches Operation 2
				llamadas(t, c.sim, 1)
			}
		})
	}
}

func TestClienteReintenta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fallas   []int
		retries  int
		exito    bool
		llamadas int64
	}{
		{name: "two 40s then the answer", fallas: []int{40, 40}, retries: 4, exito: true, llamadas: 3},
		{name: "as many 40s as retries", fallas: []int{40, 40, 40, 40}, retries: 4, exito: true, llamadas: 5},
		{name: "more 40s than retries", fallas: []int{40, 40, 40, 40, 40, 40}, retries: 4, llamadas: 5},
		{name: "no retries", fallas: []int{40}, retries: 0, llamadas: 1},
		{name: "40 then a final codigo", fallas: []int{40, 21}, retries: 4, llamadas: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := nuevaCuenta(t)
			c.sim.Poner(boleta, simulador.Aceptada)
			c.sim.Fallar(boleta, tt.fallas...)
			n, err := cliente(t, c.ruta(), token, 2*time.Second, tt.retries).Consultar(t.Context(), boleta)
			llamadas(t, c.sim, tt.llamadas)
			sinToken(t, err)
			if tt.exito {
				if err != nil {
					t.Fatalf("Consultar: %v", err)
				}
				if n.Resultado() != contracts.Aceptado {
					t.Errorf("Resultado() = %q, want aceptado", n.Resultado())
				}
				return
			}
			if err == nil {
				t.Fatal("Consultar succeeded, want an error")
			}
			want := tt.fallas[tt.llamadas-1]
			var e *nubefact.Error
			if !errors.As(err, &e) || e.Codigo != want {
				t.Errorf("err = %v, want codigo %d", err, want)
			}
			if got := nubefact.Retryable(err); got != (want == 40) {
				t.Errorf("Retryable = %v, want %v", got, want == 40)
			}
		})
	}
}

func TestClienteErroresDeTransporte(t *testing.T) {
	t.Parallel()

	t.Run("HTTP 5xx without codigo", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
		}))
		t.Cleanup(srv.Close)
		_, err := cliente(t, srv.URL+"/api/v1/x", token, 2*time.Second, 2).Consultar(t.Context(), boleta)
		if !nubefact.Retryable(err) {
			t.Errorf("err = %v: want it retryable", err)
		}
		var te *nubefact.TransportError
		if !errors.As(err, &te) || te.Status != http.StatusBadGateway {
			t.Errorf("err = %v, want a TransportError with status 502", err)
		}
		if nubefact.Fatal(err) {
			t.Errorf("err = %v: want it not fatal", err)
		}
		if got := n.Load(); got != 3 {
			t.Errorf("the server received %d calls, want 3 (1 + 2 retries)", got)
		}
		sinToken(t, err)
	})

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		c := nuevaCuenta(t)
		c.sim.Poner(boleta, simulador.Aceptada)
		// An hour's latency: only the timeout can end these calls, so returning at all proves it
		// cut them short (no wall-clock bound).
		c.sim.Latencia(time.Hour)
		_, err := cliente(t, c.ruta(), token, 50*time.Millisecond, 1).Consultar(t.Context(), boleta)
		if !nubefact.Retryable(err) {
			t.Errorf("err = %v: want it retryable", err)
		}
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("err = %v: want it to say timeout", err)
		}
		llamadas(t, c.sim, 2)
		sinToken(t, err)
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		ruta := srv.URL + "/api/v1/x"
		srv.Close()
		_, err := cliente(t, ruta, token, 2*time.Second, 1).Consultar(t.Context(), boleta)
		if !nubefact.Retryable(err) {
			t.Errorf("err = %v: want it retryable", err)
		}
		var te *nubefact.TransportError
		if !errors.As(err, &te) {
			t.Errorf("err = %v (%T), want a TransportError", err, err)
		}
		sinToken(t, err)
	})

	t.Run("context ends while waiting to retry", func(t *testing.T) {
		t.Parallel()
		c := nuevaCuenta(t)
		c.sim.FallarTodo(40)
		cl := cliente(t, c.ruta(), token, 2*time.Second, 4)
		cl.Backoff, cl.MaxBackoff = time.Hour, time.Hour
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := cl.Consultar(ctx, boleta)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		llamadas(t, c.sim, 1)
		sinToken(t, err)
	})
}

func TestClienteRespuestasInesperadas(t *testing.T) {
	t.Parallel()
	otra := contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BBB1", Numero: 106}
	tests := []struct {
		name    string
		status  int
		body    func(tb testing.TB) []byte
		contain string
		fatal   bool // a 4xx without codigo is not NubeFacT speaking: a wrong RUTA, stop the batch
	}{
		{name: "about another comprobante", status: http.StatusOK, contain: otra.String(),
			body: func(tb testing.TB) []byte {
				b, err := json.Marshal(simulador.Respuesta(otra, simulador.Aceptada))
				if err != nil {
					tb.Fatal(err)
				}
				return b
			}},
		{name: "not JSON", status: http.StatusOK, contain: boleta.String(),
			body: func(testing.TB) []byte { return []byte("<html>ok</html>") }},
		{name: "HTTP 404 without codigo", status: http.StatusNotFound, contain: "404", fatal: true,
			body: func(testing.TB) []byte { return []byte("not found") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := tt.body(t)
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write(body)
			}))
			t.Cleanup(srv.Close)
			_, err := cliente(t, srv.URL+"/api/v1/x", token, 2*time.Second, 3).Consultar(t.Context(), boleta)
			if err == nil {
				t.Fatal("Consultar succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.contain) {
				t.Errorf("err = %v: want it to mention %q", err, tt.contain)
			}
			if nubefact.Retryable(err) || nubefact.Fatal(err) != tt.fatal {
				t.Errorf("err = %v: Retryable %v, Fatal %v, want not retryable and Fatal %v", err, nubefact.Retryable(err), nubefact.Fatal(err), tt.fatal)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("the server received %d calls, want 1", got)
			}
			sinToken(t, err)
		})
	}
}

func TestClienteNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ruta, token, want string
	}{
		{"no RUTA", "", token, "NUBEFACT_RUTA"},
		{"no TOKEN", "http://127.0.0.1:1/api/v1/x", "", "NUBEFACT_TOKEN"},
		// A RUTA pasted without its scheme would fail every call with a retryable transport
		// error: the constructor must refuse it.
		{"RUTA without scheme", "api.nubefact.com/api/v1/x", token, "NUBEFACT_RUTA"},
		{"RUTA not a URL", "://sin-esquema", token, "NUBEFACT_RUTA"},
		{"RUTA with another scheme", "ftp://api.nubefact.com/api/v1/x", token, "NUBEFACT_RUTA"},
		{"RUTA without host", "https:///api/v1/x", token, "NUBEFACT_RUTA"},
		{"valid", "https://api.nubefact.com/api/v1/" + cuentaID, token, ""},
		// Over plain http the token travels in clear: only a loopback host may use it.
		{"http to NubeFacT", "http://api.nubefact.com/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"HTTP to NubeFacT", "HTTP://api.nubefact.com/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"http to a private address", "http://10.0.0.7:9090/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"http to a name that starts like localhost", "http://localhost.example.com/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"http to a name that starts like 127.0.0.1", "http://127.0.0.1.nip.io/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"http to 0.0.0.0", "http://0.0.0.0:9090/api/v1/" + cuentaID, token, "NUBEFACT_RUTA must start with https://"},
		{"http to 127.0.0.1", "http://127.0.0.1:9090/api/v1/" + cuentaID, token, ""},
		{"http to elsewhere in 127/8", "http://127.8.9.10:9090/api/v1/" + cuentaID, token, ""},
		{"http to ::1", "http://[::1]:9090/api/v1/" + cuentaID, token, ""},
		{"http to localhost", "http://localhost:9090/api/v1/" + cuentaID, token, ""},
		{"http to LOCALHOST", "http://LOCALHOST/api/v1/" + cuentaID, token, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := nubefact.New(tt.ruta, tt.token, time.Second)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Errorf("New(%q, token) = %v, %v; want a client", tt.ruta, c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%q, %q) = %v, %v; want an error naming %s", tt.ruta, tt.token, c, err, tt.want)
			}
			sinToken(t, err)
		})
	}
}

func TestClienteNewRechazaHTTPSinCifrar(t *testing.T) {
	t.Parallel()
	_, err := nubefact.New("http://api.nubefact.com/api/v1/"+cuentaID, token, time.Second)
	if err == nil {
		t.Fatal("New accepted an http:// RUTA on a public host")
	}
	// The operator must learn why, and which host, but not the account's identifier.
	for _, want := range []string{"https://", "in clear", "api.nubefact.com", "loopback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q: want it to mention %q", err, want)
		}
	}
	sinToken(t, err)
}

func TestClienteNewExigeTimeoutPositivo(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{0, -time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			t.Parallel()
			c, err := nubefact.New("https://api.nubefact.com/api/v1/"+cuentaID, token, timeout)
			if err == nil || !strings.Contains(err.Error(), "NUBEFACT_TIMEOUT") || !strings.Contains(err.Error(), "positive") {
				t.Errorf("New(timeout %v) = %v, %v; want an error saying NUBEFACT_TIMEOUT must be positive", timeout, c, err)
			}
			sinToken(t, err)
		})
	}
}

// registro is an httptest server that records the Authorization header of every request it
// receives and answers with responder.
type registro struct {
	srv *httptest.Server
	mu  sync.Mutex
	aut []string
}

func nuevoRegistro(tb testing.TB, responder http.HandlerFunc) *registro {
	tb.Helper()
	r := &registro{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.aut = append(r.aut, req.Header.Get("Authorization"))
		r.mu.Unlock()
		responder(w, req)
	}))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *registro) autorizaciones() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.aut...)
}

func TestClienteNoSigueRedirecciones(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		// otroHost sends the redirect to another server, named localhost rather than 127.0.0.1.
		otroHost bool
	}{
		{"307 to http on the same host", http.StatusTemporaryRedirect, false},
		{"308 to http on the same host", http.StatusPermanentRedirect, false},
		{"302 to http on the same host", http.StatusFound, false},
		{"301 to http on the same host", http.StatusMovedPermanently, false},
		{"303 to http on the same host", http.StatusSeeOther, false},
		{"307 to another host", http.StatusTemporaryRedirect, true},
		{"308 to another host", http.StatusPermanentRedirect, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Both targets answer like NubeFacT, at the path of a RUTA: were the redirect followed,
			// the answer would pass. (Go drops Authorization towards another host, so the other
			// host, an impostor, answers without asking for it.) The target's path and query (an
			// account identifier) stay out of errors.
			sim := simulador.New(token)
			sim.PorDefecto(simulador.Aceptada)
			destinoSecreto := sim.Ruta + "?cuenta=" + cuentaID
			respuesta, err := json.Marshal(simulador.Respuesta(boleta, simulador.Aceptada))
			if err != nil {
				t.Fatal(err)
			}
			otro := nuevoRegistro(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(respuesta)
			})
			_, puerto, err := net.SplitHostPort(otro.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			origen := nuevoRegistro(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == sim.Ruta { // the redirect's target on the same host
					sim.Handler().ServeHTTP(w, r)
					return
				}
				destino := "http://" + r.Host + destinoSecreto
				if tt.otroHost {
					destino = "http://localhost:" + puerto + destinoSecreto
				}
				http.Redirect(w, r, destino, tt.status)
			})
			host := origen.srv.Listener.Addr().String()
			if tt.otroHost {
				host = "localhost:" + puerto
			}

			_, err = cliente(t, origen.srv.URL+"/api/v1/x", token, 2*time.Second, 3).Consultar(t.Context(), boleta)
			// Exactly one request went out, the first: nothing followed it with the token.
			if got := origen.autorizaciones(); len(got) != 1 || got[0] != `Token token="`+token+`"` {
				t.Errorf("the RUTA's server received Authorization %q, want the one first request", got)
			}
			if got := otro.autorizaciones(); len(got) != 0 {
				t.Errorf("the other host received %d requests (Authorization %q), want none", len(got), got)
			}
			if err == nil {
				t.Fatal("Consultar followed the redirect and took the answer as NubeFacT's, want an error")
			}
			var re *nubefact.RedirectError
			if !errors.As(err, &re) || re.Status != tt.status {
				t.Fatalf("err = %v (%T), want a RedirectError with status %d", err, err, tt.status)
			}
			if !strings.Contains(err.Error(), "http://"+host) {
				t.Errorf("err = %q: want it to name the target http://%s", err, host)
			}
			if strings.Contains(err.Error(), "cuenta=") {
				t.Errorf("err = %q reveals the target's path or query", err)
			}
			sinToken(t, err)
			// A redirect is configuration, not weather: not retried, and the batch stops.
			if nubefact.Retryable(err) || !nubefact.Fatal(err) {
				t.Errorf("Retryable %v, Fatal %v; want not retryable and fatal", nubefact.Retryable(err), nubefact.Fatal(err))
			}
			if q := nubefact.QueHacer(err); !strings.Contains(q, "NUBEFACT_RUTA") {
				t.Errorf("QueHacer = %q: want it to say NUBEFACT_RUTA must be fixed", q)
			}
			var f interface {
				Fatal() bool
				QueHacer() string
			}
			if !errors.As(err, &f) || !f.Fatal() || f.QueHacer() != nubefact.QueHacer(err) {
				t.Errorf("by behaviour: the redirect's Fatal/QueHacer methods disagree with the functions")
			}
		})
	}

	t.Run("3xx without Location", func(t *testing.T) {
		t.Parallel()
		origen := nuevoRegistro(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTemporaryRedirect) })
		_, err := cliente(t, origen.srv.URL+"/api/v1/x", token, 2*time.Second, 3).Consultar(t.Context(), boleta)
		var re *nubefact.RedirectError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "307") || !nubefact.Fatal(err) {
			t.Errorf("err = %v: want a fatal RedirectError naming 307", err)
		}
		if got := origen.autorizaciones(); len(got) != 1 {
			t.Errorf("the server received %d requests, want 1", len(got))
		}
		sinToken(t, err)
	})
}

// colgado is a server that receives requests and never answers them: each handler waits until
// its client goes away or the test ends. primera is closed when the first request arrives.
func colgado(tb testing.TB) (ruta string, primera <-chan struct{}, recibidas *atomic.Int64) {
	tb.Helper()
	fin, llegada := make(chan struct{}), make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			close(llegada)
		}
		select {
		case <-r.Context().Done():
		case <-fin:
		}
	}))
	// Cleanups run last-in first-out: the handlers are released before Close waits for them.
	tb.Cleanup(srv.Close)
	tb.Cleanup(func() { close(fin) })
	return srv.URL + "/api/v1/" + cuentaID, llegada, &n
}

// Cancelling ctx abandons the call in flight. The client's timeout is an hour, so that Consultar
// returning at all (before the test binary's deadline) proves it did not wait for the timeout.
func TestClienteCancelaLaLlamadaEnVuelo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		contexto func(ctx context.Context, primera <-chan struct{}) context.Context
		want     error
	}{
		{"ctx cancelled once the call reached the server", func(ctx context.Context, primera <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(ctx)
			go func() { <-primera; cancel() }()
			return ctx
		}, context.Canceled},
		{"ctx deadline", func(ctx context.Context, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			_ = cancel // released by the deadline itself
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ruta, primera, recibidas := colgado(t)
			ctx := tt.contexto(t.Context(), primera)
			_, err := cliente(t, ruta, token, time.Hour, 4).Consultar(ctx, boleta)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want it to wrap %v", err, tt.want)
			}
			if nubefact.Retryable(err) || nubefact.Fatal(err) {
				t.Errorf("err = %v: Retryable %v, Fatal %v, want neither", err, nubefact.Retryable(err), nubefact.Fatal(err))
			}
			if !strings.Contains(err.Error(), boleta.String()) {
				t.Errorf("err = %q: want it to name the comprobante", err)
			}
			sinToken(t, err)
			if n := recibidas.Load(); n > 1 {
				t.Errorf("the server received %d requests: a cancelled call was retried", n)
			}
		})
	}
}
