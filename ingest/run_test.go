package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	tokenA = "tokenA-0123456789abcdef"
	tokenB = "tokenB-0123456789abcdef"
	// secretTail is shared by every token the tests use, valid or not: if it shows up in the
	// logs, some token leaked.
	secretTail = "0123456789abcdef"
)

// seed is the user's example webhook (shared/seed/webhook-nubefact.md).
const seed = `{
  "tipo_de_comprobante": 2,
  "serie": "BBB1",
  "numero": 105,
  "enlace": "https://www.nubefact.com/cpe/...",
  "aceptada_por_sunat": true,
  "sunat_description": "La Boleta de Venta numero BBB1-105, ha sido aceptada",
  "sunat_responsecode": "0",
  "enlace_del_pdf": "https://www.nubefact.com/cpe/xxx.pdf",
  "enlace_del_xml": "https://www.nubefact.com/cpe/xxx.xml",
  "enlace_del_cdr": "https://www.nubefact.com/cpe/xxx.cdr",
  "codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY="
}`

// notificacion is a valid, accepted boleta BBB1-<numero>: distinct numeros give distinct IDs.
func notificacion(numero int) []byte {
	return fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BBB1","numero":%d,"aceptada_por_sunat":true,"sunat_responsecode":"0","codigo_hash":"h%d"}`, numero, numero)
}

// service is ingest running in-process on a loopback port, in a namespace of its own.
type service struct {
	base   string
	topo   contracts.Topologia
	js     jetstream.JetStream
	client *http.Client
	logs   *testkit.LogBuffer

	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned runErr
	runErr error
}

// startIngest runs ingest.Run until the test ends, then checks that it stopped cleanly and
// never logged a token. With withStream false the notifications stream does not exist.
func startIngest(tb testing.TB, withStream bool) *service {
	tb.Helper()
	return startIngestWith(tb, withStream, func(*ingest.Config) {})
}

// startIngestWith is startIngest with configure's changes to the configuration.
func startIngestWith(tb testing.TB, withStream bool, configure func(*ingest.Config)) *service {
	tb.Helper()
	topo := testkit.Namespace(tb)
	_, js := testkit.Connect(tb)
	if withStream {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{
			Name:       topo.StreamNotificaciones(),
			Subjects:   topo.SubjectsNotificaciones(),
			Storage:    jetstream.FileStorage,
			Duplicates: 2 * time.Minute,
		})
		if err != nil {
			tb.Fatalf("create stream: %v", err)
		}
	}

	addr := freeAddr(tb)
	cfg := ingest.Config{
		Addr:            addr,
		NATSURL:         testkit.NATSURL(tb),
		NATSPrefix:      topo.Prefijo,
		WebhookTokens:   tokenA + "," + tokenB,
		PublishTimeout:  2 * time.Second,
		RetryAfter:      5 * time.Second,
		ShutdownTimeout: 5 * time.Second,
		LogLevel:        slog.LevelDebug,
	}
	configure(&cfg)
	logs := &testkit.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{
		base: "http://" + addr, topo: topo, js: js, logs: logs,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{},
			// A redirect is an answer to check, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		cancel: cancel, done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.runErr = ingest.Run(ctx, cfg, log)
	}()
	tb.Cleanup(func() {
		s.client.CloseIdleConnections()
		if err := s.stop(); err != nil {
			tb.Errorf("Run: %v", err)
		}
		if l := logs.String(); strings.Contains(l, secretTail) {
			tb.Errorf("a token appears in the logs:\n%s", l)
		}
	})

	ready := "/readyz"
	if !withStream {
		ready = "/healthz" // readyz stays 503 without the stream
	}
	err := testkit.Poll(10*time.Second, func() error {
		select {
		case <-s.done:
			tb.Fatalf("Run returned early: %v\n%s", s.runErr, logs.String())
		default:
		}
		resp, err := s.client.Get(s.base + ready)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("ingest not ready on %s after 10s: %v\n%s", ready, err, logs.String())
	}
	return s
}

// stop cancels Run's context and waits for it to return.
func (s *service) stop() error {
	s.cancel()
	select {
	case <-s.done:
		return s.runErr
	case <-time.After(15 * time.Second):
		return errors.New("did not return within 15s of cancellation")
	}
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		tb.Fatal(err)
	}
	return addr
}

type reply struct {
	status int
	header http.Header
	body   []byte
	local  string // the client's address, as the server should see it
}

// do sends one request to the service; target is a path with an optional query.
func (s *service) do(tb testing.TB, method, target string, body []byte, header http.Header) reply {
	tb.Helper()
	r, err := s.send(method, target, body, header)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// send is do for goroutines other than the test's, which must not call tb.Fatal.
func (s *service) send(method, target string, body []byte, header http.Header) (reply, error) {
	var local string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { local = info.Conn.LocalAddr().String() },
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+target, rd)
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: reading the response: %w", method, target, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b, local: local}, nil
}

func (s *service) post(tb testing.TB, target string, body []byte, header http.Header) reply {
	tb.Helper()
	return s.do(tb, http.MethodPost, target, body, header)
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// msgs is how many messages the notifications stream holds.
func (s *service) msgs(tb testing.TB) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, s.topo.StreamNotificaciones())
	if err != nil {
		tb.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		tb.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func (s *service) wantMsgs(tb testing.TB, want uint64) {
	tb.Helper()
	if got := s.msgs(tb); got != want {
		tb.Errorf("stream holds %d messages, want %d", got, want)
	}
}

// problemDoc is the RFC 9457 document ingest answers errors with.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// wantProblem checks r is a problem document with this status and returns it.
func wantProblem(tb testing.TB, r reply, status int) problemDoc {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemDoc
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatalf("problem body %q: %v", r.body, err)
	}
	if p.Status != status {
		tb.Errorf("problem status = %d, want %d", p.Status, status)
	}
	// RFC 9457: about:blank is titled with the status phrase; any other type is one of ours.
	switch {
	case p.Type == "about:blank" && p.Title != http.StatusText(status):
		tb.Errorf("about:blank problem titled %q, want %q", p.Title, http.StatusText(status))
	case p.Type != "about:blank" && (!strings.HasPrefix(p.Type, "urn:hotelpe:boletas:problem:") || p.Title == ""):
		tb.Errorf("problem of type %q titled %q, want a type of ours with a title", p.Type, p.Title)
	}
	return p
}

func TestHealthAndRoutes(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)

	tests := []struct {
		method, target string
		want           int
		allow          string // the Allow header of a 405
	}{
		{http.MethodGet, "/healthz", http.StatusOK, ""},
		{http.MethodGet, "/readyz", http.StatusOK, ""},
		{http.MethodGet, "/webhooks/nubefact", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPut, "/webhooks/nubefact", http.StatusMethodNotAllowed, "POST"},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodPost, "/webhooks/otro", http.StatusNotFound, ""},
		{http.MethodGet, "/", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := s.do(t, tt.method, tt.target, nil, bearer(tokenA))
			if tt.want == http.StatusOK {
				if r.status != tt.want {
					t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
				}
				return
			}
			wantProblem(t, r, tt.want)
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
	s.wantMsgs(t, 0)
}

// TestListenersAreStrict: both listeners are wrapped in httpapi.StrictMux (whose own test covers
// its 404s, 405s and paths it does not clean): a path the mux would clean with a redirect, whose
// Location would repeat the token, is a 404.
func TestListenersAreStrict(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	s := startIngestWith(t, true, func(c *ingest.Config) { c.MetricsAddr = metricsAddr })
	r := s.do(t, http.MethodPost, "//webhooks/nubefact?token="+tokenA, []byte(seed), nil)
	wantProblem(t, r, http.StatusNotFound)
	if loc := r.header.Get("Location"); loc != "" || strings.Contains(string(r.body), secretTail) {
		t.Errorf("the webhook listener redirected (%q) or repeated the token: %s", loc, r.body)
	}
	s.wantMsgs(t, 0)

	resp, err := s.client.Get("http://" + metricsAddr + "//metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusNotFound || ct != "application/problem+json" {
		t.Errorf("GET //metrics on the metrics listener = %d %s, want a 404 problem", resp.StatusCode, ct)
	}
}

// TestHeaderLimit: request headers past ingest.MaxHeader get a 431 before the token is looked at;
// a little less still reaches the handler (401 here: no token). Each request has a connection of
// its own: on a reused one net/http may have buffered the start of the next request already, up
// to 4 KiB that the limit does not count.
func TestHeaderLimit(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	s.client.CloseIdleConnections()
	s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tests := []struct {
		name    string
		padding int // bytes of one X-Padding header, besides the request line and the client's own headers
		want    int
	}{
		{"1 KiB under the cap", ingest.MaxHeader - 1024, http.StatusUnauthorized},
		{"just over the cap", ingest.MaxHeader, http.StatusRequestHeaderFieldsTooLarge},
		{"20 KiB", 20 << 10, http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := s.post(t, "/webhooks/nubefact", []byte(seed), http.Header{"X-Padding": {strings.Repeat("a", tt.padding)}})
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.want, r.body)
			}
		})
	}
	s.wantMsgs(t, 0)
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	good := ingest.Config{
		Addr: "127.0.0.1:0", NATSURL: "nats://127.0.0.1:1", WebhookTokens: tokenA,
		PublishTimeout: time.Second, ShutdownTimeout: time.Second,
	}
	tests := []struct {
		name   string
		mutate func(*ingest.Config)
		want   string
	}{
		{"TLS cert without key", func(c *ingest.Config) { c.TLSCertFile = "cert.pem" }, "TLS_KEY_FILE"},
		{"no tokens", func(c *ingest.Config) { c.WebhookTokens = " , " }, "WEBHOOK_TOKENS"},
		{"short token", func(c *ingest.Config) { c.WebhookTokens = "s3cr3t" }, "WEBHOOK_TOKENS"},
		{"pprof on every interface", func(c *ingest.Config) { c.PprofAddr = ":6060" }, "PPROF_ADDR"},
		{"pprof on 0.0.0.0", func(c *ingest.Config) { c.PprofAddr = "0.0.0.0:6060" }, "PPROF_ADDR"},
		{"pprof on a host name", func(c *ingest.Config) { c.PprofAddr = "hotel.example:6060" }, "PPROF_ADDR"},
		{"link host given as a URL", func(c *ingest.Config) { c.EnlaceHosts = []string{"https://www.nubefact.com"} }, "ENLACE_HOSTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.mutate(&cfg)
			// A configuration error must come back before anything is started, so this returns
			// at once even though no NATS listens on port 1.
			err := ingest.Run(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error naming %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}

// TestRunFinishesInFlightWebhook cancels Run while a webhook's handler is reading its body and
// checks that the webhook still gets its 200 and is stored. Determinism without sleeps: the
// client announces "Expect: 100-continue", so the server's "100 Continue" proves the handler is
// running; a refused dial proves Shutdown has closed the listener; only then is the body sent.
func TestRunFinishesInFlightWebhook(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)

	body, bodyW := io.Pipe()
	continued := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got100Continue: func() { close(continued) },
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/webhooks/nubefact", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(seed))
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	t.Cleanup(client.CloseIdleConnections)
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode}
	}()

	select {
	case <-continued:
	case r := <-res:
		t.Fatalf("request ended before the handler read its body: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("no 100 Continue within 10s")
	}

	s.client.CloseIdleConnections()
	s.cancel()
	addr := strings.TrimPrefix(s.base, "http://")
	testkit.Eventually(t, 10*time.Second, "the listener to close after cancellation", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true // the listener is closed: Shutdown is under way
		}
		c.Close() // a connection left open would hold Shutdown up
		return false
	})
	select {
	case <-s.done:
		t.Fatalf("Run returned (%v) with a webhook in flight", s.runErr)
	default:
	}

	if _, err := io.WriteString(bodyW, seed); err != nil {
		t.Fatalf("sending the body: %v", err)
	}
	bodyW.Close()
	select {
	case r := <-res:
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("in-flight webhook: status %d, err %v; want 200", r.status, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the in-flight webhook within 10s")
	}
	if err := s.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s.wantMsgs(t, 1)
}
