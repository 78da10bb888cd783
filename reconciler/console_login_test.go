package reconciler

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/testkit"
	"golang.org/x/crypto/bcrypt"
)

// A flood of password guesses on the console costs the bcrypt comparisons the limits allow and
// no more, while /healthz keeps answering and notifications keep being applied.
func TestConsoleLoginFlood(t *testing.T) {
	t.Parallel()
	s := nuevoServicio(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	console := "http://" + l.Addr().String()
	l.Close()
	// bcrypt's lowest cost: what is counted is comparisons, and the race detector makes the
	// default cost take seconds.
	hash, err := bcrypt.GenerateFromPassword([]byte("clave-de-prueba-123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const fallos, direcciones, porDireccion = 5, 6, 50
	s.cfg.ConsoleAddr, s.cfg.ConsoleUsers = l.Addr().String(), "ana:"+string(hash)
	s.cfg.ConsoleLoginFailures, s.cfg.ConsoleLoginWindow, s.cfg.ConsoleLoginConcurrency = fallos, time.Hour, 1
	s.arrancar(nil)
	s.insertarPendiente("BFLD", 1)

	desde := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		tr := &http.Transport{DialContext: d.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	entrar := func(client *http.Client, pass string) int {
		req, _ := http.NewRequest(http.MethodGet, console+"/", nil)
		req.SetBasicAuth("ana", pass)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// /healthz, polled for as long as the flood lasts.
	done := make(chan struct{})
	var healthz, healthzMal atomic.Int64
	var poll sync.WaitGroup
	poll.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			resp, err := http.Get("http://" + s.cfg.Addr + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				healthzMal.Add(1)
			} else {
				healthz.Add(1)
			}
			if err == nil {
				resp.Body.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	var mu sync.Mutex
	codes := map[int]int{}
	var flood sync.WaitGroup
	for i := range direcciones {
		client := desde("127.0.0." + strconv.Itoa(20+i))
		for g := range 2 { // two guessers per address
			flood.Go(func() {
				for n := range porDireccion / 2 {
					code := entrar(client, "adivinanza-"+strconv.Itoa(g)+"-"+strconv.Itoa(n))
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}
			})
		}
	}
	// A webhook's notification arrives during the flood.
	s.publicar(aceptada("BFLD", 1))
	flood.Wait()
	close(done)
	poll.Wait()

	t.Logf("answers to %d guesses: %v; /healthz answered 200 %d times", direcciones*porDireccion, codes, healthz.Load())
	if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusOK] != 0 || codes[http.StatusUnauthorized] > fallos*direcciones {
		t.Errorf("answers %v: want 429s, no 200, and at most %d 401s (the failures allowed)", codes, fallos*direcciones)
	}
	if healthz.Load() == 0 || healthzMal.Load() != 0 {
		t.Errorf("/healthz during the flood: %d answers 200, %d not", healthz.Load(), healthzMal.Load())
	}
	checks, ok := testkit.Scrape(t, "http://"+s.cfg.Addr+"/metrics").Value("reconciler_console_password_checks_total", nil)
	if !ok || checks < 1 || checks > fallos*direcciones {
		t.Errorf("%v bcrypt comparisons for the flood (found %v), want 1 to %d (the limit per address × addresses)", checks, ok, fallos*direcciones)
	}
	testkit.Eventually(t, 30*time.Second, "the notification published during the flood applied", func() bool {
		return s.estado("BFLD", 1) == "aceptado"
	})
	// The right password from an address that did not guess still logs in.
	if code := entrar(desde("127.0.0.40"), "clave-de-prueba-123"); code != http.StatusOK {
		t.Errorf("the right password from another address after the flood: %d, want 200", code)
	}
}
