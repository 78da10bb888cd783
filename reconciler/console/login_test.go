package console_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/console"
	"golang.org/x/crypto/bcrypt"
)

// logBuffer is a log the test reads while the console writes it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	return b.out.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// desde is a client whose connections come from ip (any of 127.0.0.0/8 on loopback), so that
// the console sees several addresses.
func desde(tb testing.TB, ip string) *http.Client {
	tb.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// entrar GETs / with name and password from client and returns the status and Retry-After.
func entrar(tb testing.TB, client *http.Client, base, name, pass string) (int, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.SetBasicAuth(name, pass)
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

func TestConsolaLoginLimitado(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{out: t.Output()}
	var users *console.Usuarios
	c := newConsoleOpts(t, func(o *console.Options) {
		o.Log = slog.New(slog.NewTextHandler(logs, nil))
		o.Login = console.LoginLimits{Failures: 3, Window: time.Hour}
		o.Usuarios = usuariosRapidos(t)
		users = o.Usuarios
	})
	const adivinanza = "adivinanza-secreta-1"
	atacante := desde(t, "127.0.0.2")
	for i := range 3 {
		if code, _ := entrar(t, atacante, c.srv.URL, usuario, adivinanza+strconv.Itoa(i)); code != http.StatusUnauthorized {
			t.Fatalf("wrong password #%d: %d, want 401", i+1, code)
		}
	}
	antes := users.Comparaciones()
	// Past the limit the address is refused, the right password too, and bcrypt is not run.
	for _, pass := range []string{adivinanza, password} {
		code, retry := entrar(t, atacante, c.srv.URL, usuario, pass)
		secs, err := strconv.Atoi(retry)
		if code != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 3600 {
			t.Errorf("past the limit: %d, Retry-After %q; want 429 with 1 to 3600 seconds", code, retry)
		}
	}
	if n := users.Comparaciones(); n != antes {
		t.Errorf("a blocked address cost %d bcrypt comparisons, want none", n-antes)
	}
	// Another address is not blocked by those failures.
	if code, _ := entrar(t, desde(t, "127.0.0.3"), c.srv.URL, usuario, password); code != http.StatusOK {
		t.Errorf("the right password from another address: %d, want 200", code)
	}
	// Unknown names count and are logged too.
	if code, _ := entrar(t, desde(t, "127.0.0.4"), c.srv.URL, "mallory", adivinanza); code != http.StatusUnauthorized {
		t.Errorf("an unknown user: %d, want 401", code)
	}
	log := logs.String()
	if strings.Contains(log, adivinanza) {
		t.Errorf("the log holds a password:\n%s", log)
	}
	var fallidos int
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "failed login") && strings.Contains(line, "user=ana") && strings.Contains(line, "addr=127.0.0.2") {
			fallidos++
		}
	}
	if fallidos != 3 || !strings.Contains(log, "user=mallory addr=127.0.0.4") {
		t.Errorf("logged %d failed logins of ana from 127.0.0.2 (want 3) and mallory's: %v\n%s", fallidos, strings.Contains(log, "mallory"), log)
	}
	if !strings.Contains(log, "address blocked") {
		t.Errorf("the block is not logged")
	}
}

// usuariosRapidos is ana with a hash of bcrypt's lowest cost: the race detector makes the
// default cost take seconds, and what is counted here is comparisons, not their time.
func usuariosRapidos(tb testing.TB) *console.Usuarios {
	tb.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	users, err := console.ParseUsuarios(usuario + ":" + string(hash))
	if err != nil {
		tb.Fatal(err)
	}
	return users
}
