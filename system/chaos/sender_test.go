//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

// delivery is one webhook NubeFacT must deliver.
type delivery struct {
	clave contracts.Clave
	body  []byte
	id    string
}

// answer is what one attempt of a delivery got.
type answer struct {
	code       int
	start, end time.Time
}

// sender behaves like NubeFacT: concurrent deliveries, each retried until it gets 200 (or the
// bound passes), and it remembers every answer.
type sender struct {
	urls   []string      // one per ingest instance
	next   atomic.Uint64 // spreads the attempts over urls, like a load balancer
	client *http.Client
	limit  time.Duration
	// spread, when set, paces the deliveries evenly over at least that long: the load then
	// outlasts a sequence of faults however fast the machine is.
	spread time.Duration

	sent, ok200, r503, other, errs atomic.Int64

	mu          sync.Mutex
	answers     []answer
	got200      map[string]bool // message IDs answered 200
	undelivered []delivery
}

func newSender(urls []string, workers int) *sender {
	return &sender{urls: urls, limit: 3 * time.Minute, got200: map[string]bool{},
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}}
}

// deliveries builds the load: for each boleta its acceptance (the simulator's standard response,
// so that regularization reports the same outcome) delivered veces times.
func deliveries(serie string, n int) [][]delivery {
	out := make([][]delivery, n)
	for i := range n {
		c := contracts.Clave{TipoDeComprobante: 2, Serie: serie, Numero: i + 1}
		body, _ := json.Marshal(simulador.Respuesta(c, simulador.Aceptada))
		nt, _ := contracts.Decode(body)
		e := delivery{clave: c, body: body, id: contracts.MessageID(nt)}
		out[i] = []delivery{e, e}
	}
	return out
}

// send delivers each boleta's twins, shuffled with seed: a fraction gemelas of the boletas
// have their two deliveries sent at the same instant, the rest go separately in random order.
func (r *sender) send(ctx context.Context, seed uint64, porBoleta [][]delivery, gemelas float64, workers int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var trabajos [][]delivery // each job's deliveries run concurrently
	for _, es := range porBoleta {
		if rng.Float64() < gemelas {
			trabajos = append(trabajos, es)
			continue
		}
		for _, e := range es {
			trabajos = append(trabajos, []delivery{e})
		}
	}
	rng.Shuffle(len(trabajos), func(i, j int) { trabajos[i], trabajos[j] = trabajos[j], trabajos[i] })
	cola := make(chan []delivery)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for t := range cola {
				var tw sync.WaitGroup
				for _, e := range t {
					tw.Go(func() { r.deliver(ctx, e) })
				}
				tw.Wait()
			}
		})
	}
	start := time.Now()
	for i, t := range trabajos {
		if r.spread > 0 {
			time.Sleep(time.Until(start.Add(r.spread * time.Duration(i) / time.Duration(len(trabajos)))))
		}
		cola <- t
	}
	close(cola)
	wg.Wait()
}

// deliver retries one delivery until 200, every 100–300 ms, within the bound.
func (r *sender) deliver(ctx context.Context, e delivery) {
	deadline := time.Now().Add(r.limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		r.sent.Add(1)
		start := time.Now()
		url := r.urls[r.next.Add(1)%uint64(len(r.urls))]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(e.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := r.client.Do(req)
		code := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		r.mu.Lock()
		r.answers = append(r.answers, answer{code: code, start: start, end: time.Now()})
		if code == http.StatusOK {
			r.got200[e.id] = true
		}
		r.mu.Unlock()
		switch {
		case code == http.StatusOK:
			r.ok200.Add(1)
			return
		case code == http.StatusServiceUnavailable:
			r.r503.Add(1)
		case err != nil:
			r.errs.Add(1)
		default:
			r.other.Add(1)
		}
		time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
	}
	r.mu.Lock()
	r.undelivered = append(r.undelivered, e)
	r.mu.Unlock()
}

// count200 counts 200s for requests that started and ended within [from, to]: answers that
// would be a lie if the broker was down the whole time.
func (r *sender) count200(from, to time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.answers {
		if x.code == http.StatusOK && x.start.After(from) && x.end.Before(to) {
			n++
		}
	}
	return n
}

// longestWithout200 is the longest time, from the first attempt to the last 200, in which no
// attempt got its 200: how long NubeFacT saw the service unable to take a webhook.
func (r *sender) longestWithout200() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.answers) == 0 {
		return 0
	}
	first := r.answers[0].start
	var oks []time.Time
	for _, x := range r.answers {
		if x.start.Before(first) {
			first = x.start
		}
		if x.code == http.StatusOK {
			oks = append(oks, x.end)
		}
	}
	slices.SortFunc(oks, time.Time.Compare)
	var longest time.Duration
	prev := first
	for _, t := range oks {
		longest = max(longest, t.Sub(prev))
		prev = t
	}
	return longest
}

// last200 is when the last 200 arrived (zero if none did).
func (r *sender) last200() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var last time.Time
	for _, x := range r.answers {
		if x.code == http.StatusOK && x.end.After(last) {
			last = x.end
		}
	}
	return last
}
