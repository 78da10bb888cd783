package reconciler

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/system/testkit"
)

// The console runs beside the service on CONSOLE_ADDR, behind its accounts; with none it is off.
func TestConsoleListener(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a port taken meanwhile fails the start below: rare, and then the test says so
	par, err := console.Par("ana", "clave-de-prueba-123")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.ConsoleAddr, s.cfg.ConsoleUsers = addr, par
	s.arrancar(nil)

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET / without credentials: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	req.SetBasicAuth("ana", "clave-de-prueba-123")
	req.Header.Set("X-Padding", strings.Repeat("a", httpapi.MaxHeader))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("headers over httpapi.MaxHeader: %d, want 431 (the console has the same limits)", resp.StatusCode)
	}
	req.Header.Del("X-Padding")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / with credentials: %d %s, want a page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// With CONSOLE_TLS_CERT_FILE and CONSOLE_TLS_KEY_FILE the console speaks HTTPS only.
func TestConsoleTLS(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	certFile, keyFile, roots := testkit.SelfSigned(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	par, err := console.Par("ana", "clave-de-prueba-123")
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.ConsoleAddr, s.cfg.ConsoleUsers = addr, par
	s.cfg.ConsoleTLSCertFile, s.cfg.ConsoleTLSKeyFile = certFile, keyFile
	s.arrancar(nil)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	req.SetBasicAuth("ana", "clave-de-prueba-123")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("GET / over TLS: %d (tls %v), want 200", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + addr + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the TLS console: %d, want 400", resp.StatusCode)
		}
	}
}
