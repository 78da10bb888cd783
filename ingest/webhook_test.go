package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/ingest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type stored struct {
	Status    string `json:"status"`
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

func wantStored(tb testing.TB, r reply) stored {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("status = %d, want 200; body %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got stored
	if err := json.Unmarshal(r.body, &got); err != nil {
		tb.Fatalf("body %q: %v", r.body, err)
	}
	return got
}

func TestWebhookStoresSeed(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	n, err := contracts.Decode([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	wantID := contracts.MessageID(n)

	before := time.Now().UTC()
	r := s.post(t, "/webhooks/nubefact", []byte(seed),
		http.Header{"Authorization": {"Bearer " + tokenA}, "Content-Type": {"application/json"}})
	got := wantStored(t, r)
	if got.ID != wantID || got.Duplicate || got.Status != "stored" {
		t.Errorf("answer = %+v, want id %q, not a duplicate", got, wantID)
	}
	s.wantMsgs(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, s.topo.StreamNotificaciones())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatalf("get message 1: %v", err)
	}
	if want := s.topo.SubjectNotificacion(contracts.OrigenWebhook); msg.Subject != want {
		t.Errorf("subject = %q, want %q", msg.Subject, want)
	}
	if h := msg.Header.Get(jetstream.MsgIDHeader); h != wantID {
		t.Errorf("%s = %q, want %q", jetstream.MsgIDHeader, h, wantID)
	}
	recibido, err := time.Parse(time.RFC3339Nano, msg.Header.Get(contracts.CabeceraRecibido))
	if err != nil {
		t.Errorf("%s: %v", contracts.CabeceraRecibido, err)
	} else if recibido.Before(before.Add(-time.Second)) || recibido.After(time.Now().Add(time.Second)) || recibido.Location() != time.UTC {
		t.Errorf("%s = %v, want about now, in UTC", contracts.CabeceraRecibido, recibido)
	}
	if h := msg.Header.Get(contracts.CabeceraRemitente); h != r.local {
		t.Errorf("%s = %q, want the client's address %q", contracts.CabeceraRemitente, h, r.local)
	}
	if !bytes.Equal(msg.Data, []byte(seed)) {
		t.Errorf("stored body differs from the posted one:\n got %q\nwant %q", msg.Data, seed)
	}

	// NubeFacT retrying the same notification, through the other token and the query string.
	again := wantStored(t, s.post(t, "/webhooks/nubefact?token="+tokenB, []byte(seed), nil))
	if again.ID != wantID || !again.Duplicate {
		t.Errorf("retry answer = %+v, want id %q and duplicate", again, wantID)
	}
	s.wantMsgs(t, 1)
}

func TestWebhookIgnoresContentType(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	tests := []struct {
		name        string
		contentType []string
	}{
		{"application/json", []string{"application/json; charset=utf-8"}},
		{"text/plain", []string{"text/plain"}},
		{"form", []string{"application/x-www-form-urlencoded"}},
		{"missing", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer(tokenA)
			if tt.contentType != nil {
				h["Content-Type"] = tt.contentType
			}
			got := wantStored(t, s.post(t, "/webhooks/nubefact", notificacion(i+1), h))
			if got.Duplicate {
				t.Errorf("answer = %+v, want a new message", got)
			}
		})
	}
	s.wantMsgs(t, uint64(len(tests)))
}

func TestWebhookRejectsWrongTokens(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	tests := []struct {
		name   string
		target string
		header http.Header
	}{
		{"no token", "/webhooks/nubefact", nil},
		{"wrong token", "/webhooks/nubefact", bearer("tokenX-0123456789abcdef")},
		{"rotated-out token", "/webhooks/nubefact", bearer("tokenOld-0123456789abcdef")},
		{"rotated-out token in the query", "/webhooks/nubefact?token=tokenOld-0123456789abcdef", nil},
		{"empty query token", "/webhooks/nubefact?token=", nil},
		{"prefix of a valid token", "/webhooks/nubefact", bearer(tokenA[:len(tokenA)-1])},
		{"valid token plus suffix", "/webhooks/nubefact?token=" + tokenA + "0", nil},
		{"valid token as Basic", "/webhooks/nubefact", http.Header{"Authorization": {"Basic " + tokenA}}},
		{"wrong header beats a valid query token", "/webhooks/nubefact?token=" + tokenA, bearer("tokenX-0123456789abcdef")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.post(t, tt.target, []byte(seed), tt.header)
			wantProblem(t, r, http.StatusUnauthorized)
			if r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	s.wantMsgs(t, 0)
}

func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	// Valid payloads padded with trailing whitespace, which the decoder accepts: only the size
	// differs between the cases.
	padded := func(n, size int) []byte {
		b := notificacion(n)
		return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
	}

	r := s.post(t, "/webhooks/nubefact", padded(1, ingest.MaxBody+1), bearer(tokenA))
	if p := wantProblem(t, r, http.StatusRequestEntityTooLarge); p.Field != "" {
		t.Errorf("field = %q, want none", p.Field)
	}
	s.wantMsgs(t, 0)

	wantStored(t, s.post(t, "/webhooks/nubefact", padded(2, ingest.MaxBody), bearer(tokenA)))
	s.wantMsgs(t, 1)
}

func TestWebhookRejectsInvalidNotifications(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"invalid JSON", `{"tipo_de_comprobante":2,`, "body"},
		{"empty body", ``, "body"},
		{"JSON array", `[]`, "body"},
		{"trailing data", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105}}`, "body"},
		{"numero as a string with a leading zero", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":"0105"}`, "numero"},
		{"numero as a fraction", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105.5}`, "numero"},
		{"serie too short", `{"tipo_de_comprobante":2,"serie":"BB1","numero":105}`, "serie"},
		{"boleta with a factura serie", `{"tipo_de_comprobante":2,"serie":"F001","numero":105}`, "serie"},
		{"unknown tipo", `{"tipo_de_comprobante":7,"serie":"BBB1","numero":105}`, "tipo_de_comprobante"},
		{"numero with 9 digits", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":123456789}`, "numero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.post(t, "/webhooks/nubefact", []byte(tt.body), bearer(tokenA))
			if p := wantProblem(t, r, http.StatusBadRequest); p.Field != tt.field {
				t.Errorf("field = %q, want %q (problem %s)", p.Field, tt.field, r.body)
			}
		})
	}
	s.wantMsgs(t, 0)
}

// Without the stream nothing can be stored durably: NubeFacT must get a 503 to retry later,
// and the webhook succeeds once the reconciler has created the stream.
func TestWebhookWithoutStream(t *testing.T) {
	t.Parallel()
	s := startIngest(t, false)

	r := s.post(t, "/webhooks/nubefact", []byte(seed), bearer(tokenA))
	wantProblem(t, r, http.StatusServiceUnavailable)
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want \"5\"", got)
	}
	if r := s.do(t, http.MethodGet, "/readyz", nil, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz = %d, want 503; body %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.js.Stream(ctx, s.topo.StreamNotificaciones()); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("stream lookup = %v, want ErrStreamNotFound", err)
	}

	if _, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       s.topo.StreamNotificaciones(),
		Subjects:   s.topo.SubjectsNotificaciones(),
		Storage:    jetstream.FileStorage,
		Duplicates: 2 * time.Minute,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if r := s.do(t, http.MethodGet, "/readyz", nil, nil); r.status != http.StatusOK {
		t.Errorf("readyz after the stream exists = %d, want 200; body %s", r.status, r.body)
	}
	wantStored(t, s.post(t, "/webhooks/nubefact", []byte(seed), bearer(tokenA)))
	s.wantMsgs(t, 1)
}

func TestWebhookConcurrent(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	const n = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		ids      = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			// t.Fatal must not be called from another goroutine: count failures as status 0.
			r, err := s.send(http.MethodPost, "/webhooks/nubefact", notificacion(1000+i), bearer(tokenA))
			var got stored
			if err == nil {
				_ = json.Unmarshal(r.body, &got)
			}
			mu.Lock()
			defer mu.Unlock()
			statuses[r.status]++
			ids[got.ID] = true
		})
	}
	wg.Wait()
	if statuses[http.StatusOK] != n {
		t.Errorf("statuses = %v, want %d × 200", statuses, n)
	}
	if len(ids) != n {
		t.Errorf("%d distinct ids, want %d", len(ids), n)
	}
	s.wantMsgs(t, n)
}

// What NubeFacT (or anyone) meets at the door: payloads a plain JSON reader and encoding/json
// would read differently, and links that are not https links to the hosts of ENLACE_HOSTS, are
// refused with the key named; nothing reaches the stream.
func TestWebhookRejectsAmbiguityAndBadLinks(t *testing.T) {
	t.Parallel()
	s := startIngestWith(t, true, func(c *ingest.Config) {
		c.EnlaceHosts = []string{"www.nubefact.com", "*.nubefact.com"}
	})
	const clave = `"tipo_de_comprobante":2,"serie":"BBB1","numero":129`
	enlace := func(campo, url string) string {
		return `{` + clave + `,"aceptada_por_sunat":true,"sunat_responsecode":"0","` + campo + `":"` + url + `"}`
	}
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"duplicate key", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":129,"numero":130}`, "numero"},
		{"case-variant key", `{` + clave + `,"NUMERO":130}`, "NUMERO"},
		{"long s in serie", `{"tipo_de_comprobante":2,"ſerie":"BBB1","numero":129}`, "ſerie"},
		{"http CDR link", enlace("enlace_del_cdr", "http://www.nubefact.com/cpe/x.cdr"), "enlace_del_cdr"},
		{"javascript link", enlace("enlace", "javascript:alert(1)"), "enlace"},
		{"2049-byte link", enlace("enlace_del_pdf", "https://www.nubefact.com/"+strings.Repeat("x", 2049-len("https://www.nubefact.com/"))), "enlace_del_pdf"},
		{"host outside ENLACE_HOSTS", enlace("enlace_del_xml", "https://www.nubefact.com.evil.example/x.xml"), "enlace_del_xml"},
		{"apex outside ENLACE_HOSTS", enlace("enlace_del_cdr", "https://nubefact.com.example/x.cdr"), "enlace_del_cdr"},
		{"numero with a leading zero", `{"tipo_de_comprobante":2,"serie":"BBB1","numero":"0129"}`, "numero"},
		{"negative responsecode", `{` + clave + `,"sunat_responsecode":-1}`, "sunat_responsecode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.post(t, "/webhooks/nubefact", []byte(tt.body), bearer(tokenA))
			p := wantProblem(t, r, http.StatusBadRequest)
			if p.Field != tt.field {
				t.Errorf("field = %q, want %q (problem %s)", p.Field, tt.field, r.body)
			}
			if !strings.HasPrefix(p.Detail, tt.field+": ") {
				t.Errorf("detail = %q, want it to start with %q", p.Detail, tt.field+": ")
			}
		})
	}
	s.wantMsgs(t, 0)

	// The allow-list lets its hosts through, subdomains by the wildcard, and "" (no link yet).
	for i, url := range []string{"https://www.nubefact.com/cpe/x.cdr", "https://s3.nubefact.com/x.cdr", ""} {
		body := fmt.Appendf(nil, `{"tipo_de_comprobante":2,"serie":"BBB1","numero":%d,"aceptada_por_sunat":true,"sunat_responsecode":"0","enlace_del_cdr":%q}`, 200+i, url)
		wantStored(t, s.post(t, "/webhooks/nubefact", body, bearer(tokenA)))
	}
	s.wantMsgs(t, 3)
}

// Unambiguous spellings are accepted and normalised before the message ID is derived: the same
// notification, spelled in each of these ways, is stored once, and every later spelling is
// reported as a duplicate of the first, under the same ID. The stream keeps the bytes as sent.
func TestWebhookAcceptsSpellings(t *testing.T) {
	t.Parallel()
	s := startIngest(t, true)
	const resto = `"serie":"BBB1","aceptada_por_sunat":true,"codigo_hash":"h110"`
	spellings := []struct {
		name string
		body string
	}{
		{"numbers", `{"tipo_de_comprobante":2,"numero":110,"sunat_responsecode":"0",` + resto + `}`},
		{"byte order mark", "\xef\xbb\xbf" + `{"tipo_de_comprobante":2,"numero":110,"sunat_responsecode":"0",` + resto + `}`},
		{"numero as a string", `{"tipo_de_comprobante":2,"numero":"110","sunat_responsecode":"0",` + resto + `}`},
		{"tipo as a string", `{"tipo_de_comprobante":"2","numero":110,"sunat_responsecode":"0",` + resto + `}`},
		{"responsecode as a number", `{"tipo_de_comprobante":2,"numero":110,"sunat_responsecode":0,` + resto + `}`},
		{"all at once", "\xef\xbb\xbf" + `{"tipo_de_comprobante":"2","numero":"110","sunat_responsecode":0,` + resto + `}`},
	}
	n, err := contracts.Decode([]byte(spellings[0].body))
	if err != nil {
		t.Fatal(err)
	}
	wantID := contracts.MessageID(n)
	for i, sp := range spellings {
		got := wantStored(t, s.post(t, "/webhooks/nubefact", []byte(sp.body), bearer(tokenA)))
		if got.ID != wantID || got.Duplicate != (i > 0) {
			t.Errorf("%s: answer = %+v, want id %q, duplicate %v", sp.name, got, wantID, i > 0)
		}
	}
	s.wantMsgs(t, 1)

	// A notification without a final outcome keeps its code in the ID: 1033 and "1033" agree.
	var ids []string
	for _, code := range []string{`"1033"`, `1033`} {
		body := `{"tipo_de_comprobante":2,"serie":"BBB1","numero":111,"sunat_responsecode":` + code + `}`
		got := wantStored(t, s.post(t, "/webhooks/nubefact", []byte(body), bearer(tokenA)))
		ids = append(ids, got.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("ids = %q, want one", ids)
	}
	s.wantMsgs(t, 2)
}

// While the stream has no leader (here: it does not exist yet, which JetStream answers the same
// way, with no responders), a webhook waits up to PUBLISH_TIMEOUT, retrying under the same
// Nats-Msg-Id, and gets its 200 once the stream answers: stored once.
func TestWebhookRidesOutAStreamWithoutLeader(t *testing.T) {
	t.Parallel()
	s := startIngestWith(t, false, func(c *ingest.Config) { c.PublishTimeout = 10 * time.Second })
	// The stream appears only once the webhook has met its absence: a subscriber sees the first
	// publish and answers it as the server does when nothing listens (status 503, no body), then
	// leaves the subject to the stream, as a leader elected meanwhile would.
	attempted := make(chan struct{})
	var once sync.Once
	sub, err := s.js.Conn().Subscribe(s.topo.SubjectNotificacion(contracts.OrigenWebhook), func(m *nats.Msg) {
		_ = m.RespondMsg(&nats.Msg{Header: nats.Header{"Status": {"503"}}})
		once.Do(func() { close(attempted) })
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		select {
		case <-attempted:
		case <-t.Context().Done():
			return
		}
		_ = sub.Unsubscribe()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name: s.topo.StreamNotificaciones(), Subjects: s.topo.SubjectsNotificaciones(),
			Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
		})
	}()
	wantStored(t, s.post(t, "/webhooks/nubefact", []byte(seed), bearer(tokenA)))
	s.wantMsgs(t, 1)
}
