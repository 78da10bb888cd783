package console

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

// LoginLimits bound what guessing passwords may cost. Every guess is a bcrypt comparison, tens
// of milliseconds of a core on purpose: unbounded, a few hundred guesses could take every core of
// a reconciler and slow the pipeline itself (docs/trust-model.md). A zero field takes its default.
type LoginLimits struct {
	// Failures is how many failed logins an address may make in Window; past them it is
	// answered 429 with Retry-After, without a comparison, until Window has passed since its
	// first failure. A successful login clears the address's count.
	Failures int
	Window   time.Duration
	// Concurrency is how many bcrypt comparisons may run at once; a login that finds none free
	// within Wait is answered 503 with Retry-After instead of queueing.
	Concurrency int
	Wait        time.Duration
	// Addresses is how many addresses' failures are remembered at most (the limiter's memory).
	Addresses int
}

// DefaultLoginLimits are CONSOLE_LOGIN_*'s defaults.
var DefaultLoginLimits = LoginLimits{Failures: 10, Window: 15 * time.Minute, Concurrency: 1, Wait: time.Second, Addresses: 10000}

func (l LoginLimits) withDefaults() LoginLimits {
	d := DefaultLoginLimits
	if l.Failures <= 0 {
		l.Failures = d.Failures
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	if l.Concurrency <= 0 {
		l.Concurrency = d.Concurrency
	}
	if l.Wait <= 0 {
		l.Wait = d.Wait
	}
	if l.Addresses <= 0 {
		l.Addresses = d.Addresses
	}
	return l
}

type claveUsuario struct{}

func usuario(r *http.Request) string { s, _ := r.Context().Value(claveUsuario{}).(string); return s }

// login checks HTTP Basic credentials of CONSOLE_USERS, within LoginLimits.
type login struct {
	usuarios *Usuarios
	limits   LoginLimits
	failures *loginFailures
	slots    chan struct{} // one per bcrypt comparison allowed at once
	log      *slog.Logger
	now      func() time.Time
}

func newLogin(usuarios *Usuarios, limits LoginLimits, log *slog.Logger, now func() time.Time) *login {
	limits = limits.withDefaults()
	return &login{usuarios: usuarios, limits: limits, log: log, now: now,
		failures: newLoginFailures(limits.Failures, limits.Window, limits.Addresses),
		slots:    make(chan struct{}, limits.Concurrency)}
}

// autenticar lets through requests that carry credentials of CONSOLE_USERS.
func (l *login) autenticar(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, password, ok := r.BasicAuth()
		if !ok {
			l.pedir(w)
			return
		}
		addr := clientAddress(r)
		// A blocked address is refused whatever it sends, remembered pair or not: otherwise the
		// cheap check of remembered pairs would let it go on guessing.
		if l.refuseBlocked(w, addr) {
			return
		}
		if !l.usuarios.Recordado(name, password, l.now()) {
			switch result, failures := l.check(r.Context(), addr, name, password); result {
			case busy:
				tooMany(w, http.StatusServiceUnavailable, time.Second, "demasiadas comprobaciones de contraseña a la vez: reintente en un momento")
				return
			case blocked:
				l.refuseBlocked(w, addr)
				return
			case invalid:
				l.fail(w, addr, name, failures)
				return
			}
		}
		l.failures.forget(addr)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claveUsuario{}, name)))
	})
}

// refuseBlocked answers 429 when addr is blocked, and reports whether it did.
func (l *login) refuseBlocked(w http.ResponseWriter, addr string) bool {
	wait := l.failures.blocked(addr, l.now())
	if wait > 0 {
		tooMany(w, http.StatusTooManyRequests, wait, "demasiados intentos fallidos desde esta dirección: espere")
	}
	return wait > 0
}

type checked int

const (
	valid   checked = iota
	invalid         // a wrong name or password
	busy            // no comparison slot freed within Wait (or the request ended first)
	blocked         // the address reached its limit while the request waited
)

// check compares the password once a comparison slot is free. The attempt is counted as a
// failure before the comparison (and the count cleared when it succeeds), so that concurrent
// guesses from one address cannot together make more comparisons than its limit. It returns
// the address's failures in the window, this one included.
func (l *login) check(ctx context.Context, addr, name, password string) (checked, int) {
	t := time.NewTimer(l.limits.Wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
	case <-t.C:
		return busy, 0
	case <-ctx.Done():
		return busy, 0
	}
	defer func() { <-l.slots }()
	n, ok := l.failures.attempt(addr, l.now())
	if !ok {
		return blocked, n
	}
	if !l.usuarios.Valido(name, password, l.now()) {
		return invalid, n
	}
	return valid, n
}

// fail logs a failed login from addr, its n-th in the window (never the password), and
// answers 401.
func (l *login) fail(w http.ResponseWriter, addr, name string, n int) {
	l.log.Warn("console: failed login", "user", recortar(name, 64), "addr", addr, "failures", n, "limit", l.limits.Failures)
	if n == l.limits.Failures {
		l.log.Warn("console: address blocked after failed logins", "addr", addr, "for", l.limits.Window)
	}
	l.pedir(w)
}

// pedir answers 401, asking the browser for credentials.
func (l *login) pedir(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Boletas - consola", charset="UTF-8"`)
	httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusUnauthorized, Detail: "usuario o contraseña incorrectos"})
}

func tooMany(w http.ResponseWriter, status int, wait time.Duration, detail string) {
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	httpapi.WriteProblem(w, httpapi.Problem{Status: status, Detail: detail + " " + strconv.Itoa(secs) + " s"})
}

// clientAddress is the connection's remote IP: X-Forwarded-For is not trusted, since the
// reconciler has no setting naming a proxy. An IPv6 address counts by its /64, which one
// machine usually holds whole.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// loginFailures counts failed logins by address, for a window from each address's first
// failure, remembering at most max addresses.
type loginFailures struct {
	limit  int
	window time.Duration
	max    int

	mu     sync.Mutex
	byAddr map[string]failureRun
}

type failureRun struct {
	since time.Time // the first failure of the window
	n     int
}

func newLoginFailures(limit int, window time.Duration, max int) *loginFailures {
	return &loginFailures{limit: limit, window: window, max: max, byAddr: map[string]failureRun{}}
}

// blocked is how long addr must wait before it may try again, 0 when it may.
func (f *loginFailures) blocked(addr string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, ok := f.byAddr[addr]
	if !ok || run.n < f.limit {
		return 0
	}
	return max(0, run.since.Add(f.window).Sub(now))
}

// attempt counts an attempt of addr as a failure, unless addr has reached its limit in the
// window (ok false), and returns its failures in the window.
func (f *loginFailures) attempt(addr string, now time.Time) (n int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run, found := f.byAddr[addr]
	if found && now.Sub(run.since) < f.window && run.n >= f.limit {
		return run.n, false
	}
	if !found || now.Sub(run.since) >= f.window {
		if !found && len(f.byAddr) >= f.max {
			f.evict(now)
		}
		run = failureRun{since: now}
	}
	run.n++
	f.byAddr[addr] = run
	return run.n, true
}

// evict makes room: the runs whose window has passed go, and if none has, the oldest does.
// Losing an address's count under a flood of addresses lets it guess again; the bound on
// concurrent comparisons still holds what that costs.
func (f *loginFailures) evict(now time.Time) {
	var oldest string
	for addr, run := range f.byAddr {
		if now.Sub(run.since) >= f.window {
			delete(f.byAddr, addr)
		} else if oldest == "" || run.since.Before(f.byAddr[oldest].since) {
			oldest = addr
		}
	}
	if len(f.byAddr) >= f.max {
		delete(f.byAddr, oldest)
	}
}

// forget clears addr's failures, after it logged in.
func (f *loginFailures) forget(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.byAddr, addr)
}

// len is the number of addresses remembered.
func (f *loginFailures) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byAddr)
}
