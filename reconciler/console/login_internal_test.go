package console

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestLoginFallidos(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newLoginFailures(3, 10*time.Minute, 100)
	for i := range 3 {
		if wait := f.blocked("a", t0); wait != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		if n, ok := f.attempt("a", t0.Add(time.Duration(i)*time.Minute)); !ok || n != i+1 {
			t.Fatalf("attempt %d: %d, %v; want %d, true", i+1, n, ok, i+1)
		}
	}
	// The limit reached, an attempt is refused and not counted.
	if n, ok := f.attempt("a", t0.Add(3*time.Minute)); ok || n != 3 {
		t.Errorf("attempt past the limit: %d, %v; want 3, false", n, ok)
	}
	tests := []struct {
		at   time.Duration
		want time.Duration
	}{
		{2 * time.Minute, 8 * time.Minute}, // the window runs from the first failure
		{9 * time.Minute, time.Minute},
		{10 * time.Minute, 0},
		{time.Hour, 0},
	}
	for _, tt := range tests {
		if got := f.blocked("a", t0.Add(tt.at)); got != tt.want {
			t.Errorf("at +%v: wait %v, want %v", tt.at, got, tt.want)
		}
	}
	if f.blocked("b", t0) != 0 {
		t.Error("another address is blocked")
	}
	// Past the window the count starts again.
	if n, ok := f.attempt("a", t0.Add(11*time.Minute)); !ok || n != 1 {
		t.Errorf("a failure after the window counts %d, want 1", n)
	}
	f.forget("a")
	if f.len() != 0 {
		t.Errorf("forget left %d addresses", f.len())
	}
}

// However many addresses fail, the limiter remembers at most its maximum.
func TestLoginFallidosAcotados(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := newLoginFailures(2, time.Hour, 50)
	for i := range 10000 {
		f.attempt("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), t0.Add(time.Duration(i)*time.Millisecond))
		if f.len() > 50 {
			t.Fatalf("%d addresses remembered after %d, want at most 50", f.len(), i+1)
		}
	}
	// The newest are the ones kept: the oldest go first.
	last := "10.0." + strconv.Itoa(9999/256) + "." + strconv.Itoa(9999%256)
	f.attempt(last, t0.Add(10*time.Second))
	if f.blocked(last, t0.Add(10*time.Second)) == 0 {
		t.Error("the newest address lost its count")
	}
}

func TestDireccionDelCliente(t *testing.T) {
	for remote, want := range map[string]string{
		"203.0.113.7:5555":           "203.0.113.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[::ffff:203.0.113.7]:1":     "::ffff:203.0.113.7",
		"not an address":             "not an address",
	} {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
		if got := clientAddress(r); got != want {
			t.Errorf("%s: %s, want %s", remote, got, want)
		}
	}
}

// While every comparison slot is taken, a login waits at most LoginLimits.Wait, then is
// answered 503 with Retry-After: logins never queue without bound.
func TestLoginConcurrentes(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("clave-de-prueba-123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := ParseUsuarios("ana:" + string(hash))
	if err != nil {
		t.Fatal(err)
	}
	l := newLogin(users, LoginLimits{Concurrency: 2, Wait: 20 * time.Millisecond}, slog.New(slog.NewTextHandler(t.Output(), nil)), time.Now)
	h := l.autenticar(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	entrar := func(pass string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth("ana", pass)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Both slots held, as by two comparisons in progress.
	l.slots <- struct{}{}
	l.slots <- struct{}{}
	for _, pass := range []string{"otra-clave-cualquiera", "clave-de-prueba-123"} {
		if rec := entrar(pass); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("all slots taken: %d, Retry-After %q; want 503 with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := users.Comparaciones(); n != 0 {
		t.Errorf("%d comparisons while no slot was free, want 0", n)
	}
	<-l.slots
	if rec := entrar("clave-de-prueba-123"); rec.Code != http.StatusNoContent {
		t.Errorf("a slot free: %d, want the page", rec.Code)
	}
	// The remembered pair needs no slot.
	<-l.slots
	l.slots <- struct{}{}
	l.slots <- struct{}{}
	if rec := entrar("clave-de-prueba-123"); rec.Code != http.StatusNoContent {
		t.Errorf("a remembered pair while all slots are taken: %d, want the page", rec.Code)
	}
}
