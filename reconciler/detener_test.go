package reconciler

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/system/testkit"
)

// conConsola gives s a console on a free port with the account ana, and NubeFacT's simulator
// as its RUTA; it returns the console's base URL.
func (s *servicio) conConsola(sim *simulador.Simulador) string {
	s.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port taken meanwhile fails the start: rare, and then the test says so
	par, err := console.Par("ana", "clave-de-prueba-123")
	if err != nil {
		s.t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	s.t.Cleanup(srv.Close)
	s.cfg.ConsoleAddr, s.cfg.ConsoleUsers = addr, par
	s.cfg.NubefactRuta, s.cfg.NubefactToken = srv.URL+sim.Ruta, "sim-token-0123456789"
	s.cfg.NubefactTimeout, s.cfg.NubefactRetries, s.cfg.NubefactBackoff = time.Minute, 0, time.Millisecond
	return "http://" + addr
}

// post sends a console form as ana, with extra headers, and returns the status and Location.
func post(tb testing.TB, base, path string, form url.Values, header map[string]string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth("ana", "clave-de-prueba-123")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// A run started from one reconciler's console against a NubeFacT that never answers is stopped
// with Detener on another reconciler's console: the request goes through Postgres, the run ends
// interrumpida, and who stopped it and when are recorded.
func TestConsoleDetenerStopsARunOnAnotherReconciler(t *testing.T) {
	t.Parallel()
	sim := simulador.New("sim-token-0123456789")
	sim.Latencia(time.Hour) // each call waits until the client gives up
	a := nuevoServicio(t)
	consolaA := a.conConsola(sim)
	a.arrancar(nil)
	b := nuevoServicio(t)
	b.cfg.DatabaseURL, b.pool = a.cfg.DatabaseURL, a.pool // the same database, another reconciler
	consolaB := b.conConsola(sim)
	b.arrancar(nil)
	a.insertarPendiente("BBB1", 1)
	a.insertarPendiente("BBB1", 2)

	status, loc := post(t, consolaA, "/regularizar", url.Values{"tipo": {"2"}, "serie": {"BBB1"}}, nil)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/regularizaciones/") || strings.Contains(loc, "aviso") {
		t.Fatalf("Regularizar: %d %s, want a redirect to the run's page", status, loc)
	}
	id := strings.TrimPrefix(loc, "/regularizaciones/")
	testkit.Eventually(t, 20*time.Second, "NubeFacT is asked", func() bool { return sim.Llamadas() > 0 })

	// A cross-site POST is refused before anything runs, as for every other console form.
	if status, _ := post(t, consolaB, "/regularizaciones/"+id+"/detener", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}); status != http.StatusForbidden {
		t.Errorf("cross-site Detener: %d, want 403", status)
	}
	if n := a.count(`SELECT count(*) FROM regularizaciones WHERE detencion_pedida_en IS NOT NULL`); n != 0 {
		t.Fatalf("a cross-site POST asked for a stop")
	}

	if status, loc := post(t, consolaB, "/regularizaciones/"+id+"/detener", nil, nil); status != http.StatusSeeOther || loc != "/regularizaciones/"+id {
		t.Fatalf("Detener: %d %s, want a redirect back to the run's page without a warning", status, loc)
	}
	var resultado, detalle, por string
	testkit.Eventually(t, 20*time.Second, "the run ends", func() bool {
		err := a.pool.QueryRow(context.Background(), `SELECT coalesce(resultado, ''), coalesce(detalle, ''), coalesce(detencion_pedida_por, '')
			FROM regularizaciones WHERE id = $1 AND detencion_pedida_en IS NOT NULL`, id).Scan(&resultado, &detalle, &por)
		return err == nil && resultado != ""
	})
	if resultado != estado.RegularizacionInterrumpida || por != "ana" || !strings.Contains(detalle, "ana") {
		t.Errorf("run %s ended %q (%q), stop asked by %q; want interrumpida, stopped by ana", id, resultado, detalle, por)
	}
	if n := a.count(`SELECT count(*) FROM acciones WHERE usuario = 'ana' AND accion = 'detener' AND resultado = 'ok'`); n != 1 {
		t.Errorf("%d Detener actions recorded, want 1", n)
	}
	// Stopping it again is said on the page, and recorded.
	if status, loc := post(t, consolaA, "/regularizaciones/"+id+"/detener", nil, nil); status != http.StatusSeeOther || !strings.Contains(loc, "aviso") {
		t.Errorf("Detener of an ended run: %d %s, want a redirect with a warning", status, loc)
	}
	// The lock is freed (just after the run's record ends): the next run starts.
	testkit.Eventually(t, 20*time.Second, "a new run starts", func() bool {
		status, loc := post(t, consolaB, "/regularizar", url.Values{"tipo": {"2"}, "serie": {"BBB1"}}, nil)
		return status == http.StatusSeeOther && !strings.Contains(loc, "aviso")
	})
}
