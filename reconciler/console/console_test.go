package console_test

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The console's Store is Postgres's.
var _ console.Store = (*postgres.Store)(nil)

const (
	usuario  = "ana"
	password = "clave-de-prueba-123"
)

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	pool *pgxpool.Pool
}

func newConsole(t *testing.T) *fixture {
	t.Helper()
	return newConsoleWith(t, nil)
}

func newConsoleWith(t *testing.T, reenviar func(context.Context, string) error) *fixture {
	t.Helper()
	return newConsoleOpts(t, func(o *console.Options) { o.Reenviar = reenviar })
}

func newConsoleOpts(t *testing.T, ajustar func(*console.Options)) *fixture {
	t.Helper()
	pool, _ := testkit.Pool(t, postgres.Migrate)
	par, err := console.Par(usuario, password)
	if err != nil {
		t.Fatal(err)
	}
	users, err := console.ParseUsuarios(par)
	if err != nil {
		t.Fatal(err)
	}
	o := console.Options{Store: postgres.New(pool), Usuarios: users, Umbrales: estado.UmbralesSUNAT,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	ajustar(&o)
	h, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, pool: pool}
}

func (c *fixture) exec(sql string, args ...any) {
	c.t.Helper()
	if _, err := c.pool.Exec(context.Background(), sql, args...); err != nil {
		c.t.Fatalf("%s: %v", sql, err)
	}
}

// do sends a request, with the credentials when auth, and returns the status, the Location and
// the body; redirects are not followed.
func (c *fixture) do(method, path string, form url.Values, auth bool, header map[string]string) (int, string, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth(usuario, password)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (c *fixture) get(path string) string {
	c.t.Helper()
	code, _, body := c.do(http.MethodGet, path, nil, true, nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	return body
}

// emitida inserts a pending boleta issued dias days ago in Lima.
func (c *fixture) emitida(serie string, numero, dias int) {
	c.t.Helper()
	c.exec(`INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision) VALUES (2, $1, $2, $3)`,
		serie, numero, estado.DiaEnLima(time.Now()).Antes(dias).Format(time.DateOnly))
}

// conflicto appends a conflict to the audit with payload and returns its id.
func (c *fixture) conflicto(serie string, numero int, payload string) int64 {
	c.t.Helper()
	var id int64
	err := c.pool.QueryRow(context.Background(), `INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante,
			serie, numero, resultado, efecto, estado_anterior, estado_nuevo, motivo, payload)
		VALUES ($4, 'webhook', now(), 2, $1, $2, 'aceptado', 'conflicto', 'aceptado', 'aceptado',
			'otro codigo_hash que el guardado', $3) RETURNING id`, serie, numero, payload, "m-"+serie+strconv.Itoa(numero)).Scan(&id)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

var paginas = []string{"/", "/pendientes", "/pendientes?plazo=critico", "/comprobantes/2-BBB1-105", "/conflictos", "/esperando", "/regularizaciones", "/dlq", "/buscar?q=2-bbb1-105"}

func TestConsolaPideCredenciales(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	for _, p := range paginas {
		code, _, _ := c.do(http.MethodGet, p, nil, false, nil)
		if code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", p, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/", nil)
	req.SetBasicAuth(usuario, "otra-clave-cualquiera")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("a wrong password: %d %q, want 401 asking for Basic", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestConsolaPaginas(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BBB1", 105, 6) // critico
	c.emitida("BBB1", 106, 1) // en_plazo
	c.emitida("BBB1", 107, 9) // vencido
	for _, p := range paginas[:8] {
		if body := c.get(p); !strings.Contains(body, "<main>") {
			t.Errorf("GET %s: no page", p)
		}
	}
	if code, loc, _ := c.do(http.MethodGet, "/buscar?q=2-bbb1-105", nil, true, nil); code != http.StatusSeeOther || loc != "/comprobantes/2-BBB1-105" {
		t.Errorf("search: %d to %q, want 303 to /comprobantes/2-BBB1-105", code, loc)
	}
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/", nil)
	req.SetBasicAuth(usuario, password)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("the console may be framed (clickjacking): %v", resp.Header)
		}
	}
	resumen := c.get("/")
	for _, want := range []string{"<svg", "critico", "vencido", "Conflictos sin revisar"} {
		if !strings.Contains(resumen, want) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	criticos := c.get("/pendientes?plazo=critico")
	criticos = criticos[strings.Index(criticos, "<table"):]
	if !strings.Contains(criticos, "2-BBB1-105") || strings.Contains(criticos, "2-BBB1-106") || strings.Contains(criticos, "2-BBB1-107") {
		t.Errorf("critico lists the wrong boletas:\n%s", criticos)
	}
	todos := c.get("/pendientes")
	todos = todos[strings.Index(todos, "<table"):] // past the search box's example
	if i, j := strings.Index(todos, "2-BBB1-107"), strings.Index(todos, "2-BBB1-105"); i < 0 || j < 0 || i > j {
		t.Errorf("pendientes are not the oldest first")
	}
	if body := c.get("/pendientes?tipo=9"); !strings.Contains(body, "tipo desconocido") {
		t.Errorf("a bad tipo is not explained")
	}
}

// Everything a page shows from a notification is escaped, and only https links are links.
func TestConsolaEscapaLoQueLlega(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BBB1", 105, 0)
	c.exec(`UPDATE comprobantes SET enlace_del_cdr = 'javascript:alert(1)', enlace_del_pdf = 'https://www.nubefact.com/x.pdf' WHERE numero = 105`)
	c.conflicto("BBB1", 105, `{"serie":"BBB1","sunat_description":"<script>alert('x')</script>","codigo_hash":"<img src=x onerror=alert(1)>"}`)
	for p, comoTexto := range map[string]string{"/comprobantes/2-BBB1-105": "&lt;script&gt;", "/conflictos": "&lt;img src=x"} {
		body := c.get(p)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders the payload's markup:\n%s", p, body)
		}
		if !strings.Contains(body, comoTexto) {
			t.Errorf("%s does not show what arrived as text (%s)", p, comoTexto)
		}
	}
	body := c.get("/comprobantes/2-BBB1-105")
	if strings.Contains(body, `href="javascript:`) || !strings.Contains(body, `href="https://www.nubefact.com/x.pdf"`) {
		t.Errorf("links: want the https PDF only:\n%s", body)
	}
}

func TestConsolaMarcarRevisado(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BBB1", 105, 0)
	id := c.conflicto("BBB1", 105, `{"serie":"BBB1"}`)
	path := "/conflictos/" + itoa(id) + "/revisado"
	form := url.Values{"nota": {"NubeFacT confirma el hash guardado"}}

	// A cross-site POST is refused before anything else, with or without credentials.
	for _, auth := range []bool{false, true} {
		if code, _, _ := c.do(http.MethodPost, path, form, auth, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
			t.Errorf("cross-site POST (credentials %v): %d, want 403", auth, code)
		}
		if code, _, _ := c.do(http.MethodPost, path, form, auth, map[string]string{"Origin": "https://evil.example"}); code != http.StatusForbidden {
			t.Errorf("POST from another origin (credentials %v): %d, want 403", auth, code)
		}
	}
	if code, _, _ := c.do(http.MethodPost, path, url.Values{"nota": {" "}}, true, nil); code != http.StatusBadRequest {
		t.Errorf("no note: %d, want 400", code)
	}
	code, loc, _ := c.do(http.MethodPost, path, form, true, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/conflictos") {
		t.Fatalf("mark reviewed: %d to %q, want 303 to /conflictos", code, loc)
	}
	if body := c.get("/conflictos"); !strings.Contains(body, "Revisado por ana") {
		t.Errorf("the conflict is not shown reviewed")
	}
	c.do(http.MethodPost, path, form, true, nil) // again: nothing changes, recorded as such
	var acciones, revisados int
	var resultados string
	if err := c.pool.QueryRow(context.Background(), `SELECT count(*), string_agg(resultado, ',' ORDER BY id),
		(SELECT count(*) FROM conflictos_revisados) FROM acciones WHERE usuario = 'ana' AND accion = 'marcar_revisado' AND serie = 'BBB1'`).
		Scan(&acciones, &resultados, &revisados); err != nil {
		t.Fatal(err)
	}
	if acciones != 2 || resultados != "ok,ya estaba revisado" || revisados != 1 {
		t.Errorf("recorded %d actions (%s) and %d reviews, want 2 (ok, ya estaba revisado) and 1", acciones, resultados, revisados)
	}
	if body := c.get("/comprobantes/2-BBB1-105"); !strings.Contains(body, "marcar_revisado por ana") {
		t.Errorf("the timeline does not show the action")
	}
	if code, _, _ := c.do(http.MethodPost, "/conflictos/999999/revisado", form, true, nil); code != http.StatusNotFound {
		t.Errorf("marking what is not a conflict: %d, want 404", code)
	}
	// The record of actions is append-only.
	if _, err := c.pool.Exec(context.Background(), `DELETE FROM acciones`); err == nil {
		t.Error("the actions could be deleted")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestConsolaEsperando(t *testing.T) {
	t.Parallel()
	var reenviadas []string
	c := newConsoleWith(t, func(_ context.Context, id string) error {
		reenviadas = append(reenviadas, id)
		if len(reenviadas) > 1 {
			return errors.New("nats: no responders")
		}
		return nil
	})
	for _, n := range []int{1, 2} {
		c.exec(`INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, motivo, intentos, payload)
			VALUES ($1, 'webhook', now(), 2, 'BESP', $2, 'el comprobante no está en la tabla', 1, '{"serie":"<b>BESP</b>"}')`, "msg-"+strconv.Itoa(n), n)
	}
	body := c.get("/esperando")
	if !strings.Contains(body, "2-BESP-1") || !strings.Contains(body, "2-BESP-2") {
		t.Fatalf("the parked notifications are not listed:\n%s", body)
	}
	if code, _, _ := c.do(http.MethodPost, "/esperando/msg-1/reenviar", url.Values{}, true, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site replay: %d, want 403", code)
	}
	if code, loc, _ := c.do(http.MethodPost, "/esperando/msg-1/reenviar", url.Values{}, true, nil); code != http.StatusSeeOther || loc != "/esperando" {
		t.Errorf("replay: %d to %q, want 303 to /esperando", code, loc)
	}
	if len(reenviadas) != 1 || reenviadas[0] != "msg-1" {
		t.Errorf("replayed %v, want [msg-1]", reenviadas)
	}
	// A replay that fails says so on the page it leads back to, not only in the record.
	code, loc, _ := c.do(http.MethodPost, "/esperando/msg-1/reenviar", url.Values{}, true, nil)
	if code != http.StatusSeeOther || loc != "/esperando?aviso=reenvio-fallido" {
		t.Fatalf("failed replay: %d to %q, want 303 to /esperando?aviso=reenvio-fallido", code, loc)
	}
	if body := c.get(loc); !strings.Contains(body, "El reenvío falló") {
		t.Errorf("the failure is not shown on %s", loc)
	}
	if body := c.get("/"); !strings.Contains(body, "no responders") {
		t.Errorf("the summary's recent actions do not say why the replay failed")
	}
	if code, _, _ := c.do(http.MethodPost, "/esperando/msg-2/descartar", url.Values{"motivo": {""}}, true, nil); code != http.StatusBadRequest {
		t.Errorf("discard without a reason: %d, want 400", code)
	}
	if code, _, _ := c.do(http.MethodPost, "/esperando/msg-2/descartar", url.Values{"motivo": {"boleta de prueba"}}, true, nil); code != http.StatusSeeOther {
		t.Errorf("discard: %d, want 303", code)
	}
	if code, _, _ := c.do(http.MethodPost, "/esperando/msg-9/descartar", url.Values{"motivo": {"x"}}, true, nil); code != http.StatusNotFound {
		t.Errorf("discarding what is not parked: %d, want 404", code)
	}
	var acciones, descartadas, quedan int
	if err := c.pool.QueryRow(context.Background(), `SELECT
			(SELECT count(*) FROM acciones WHERE usuario = 'ana' AND accion IN ('reenviar', 'descartar') AND resultado = 'ok'),
			(SELECT count(*) FROM notificaciones WHERE efecto = 'descartado' AND message_id = 'msg-2' AND motivo LIKE '%ana%boleta de prueba%'),
			(SELECT count(*) FROM aparcadas)`).Scan(&acciones, &descartadas, &quedan); err != nil {
		t.Fatal(err)
	}
	if acciones != 2 || descartadas != 1 || quedan != 1 {
		t.Errorf("recorded %d successful actions, %d discards in the audit, %d still parked; want 2, 1, 1", acciones, descartadas, quedan)
	}
}

func TestConsolaRegularizar(t *testing.T) {
	t.Parallel()
	var pedido estado.Filtro
	var store *postgres.Store
	c := newConsoleOpts(t, func(o *console.Options) {
		store = o.Store.(*postgres.Store)
		// Stands in for the service's background run: records a run the way Regularizador does.
		o.Regularizar = func(ctx context.Context, f estado.Filtro, usuario string) (int64, error) {
			pedido = f
			id, err := store.IniciarRegularizacion(ctx, estado.RegularizacionConsola, "--plazo critico")
			if err != nil {
				return 0, err
			}
			if err := store.NoResueltaEnRegularizacion(ctx, id, contracts.Clave{TipoDeComprobante: 2, Serie: "BREG", Numero: 1}, "no_existe_en_nubefact", "codigo 24"); err != nil {
				return 0, err
			}
			return id, store.TerminarRegularizacion(ctx, id, estado.FinDeRegularizacion{Resultado: estado.RegularizacionCompleta, Total: 1, NoExiste: 1})
		}
	})
	if code, _, _ := c.do(http.MethodPost, "/regularizar", url.Values{"plazo": {"critico"}}, true, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site regularize: %d, want 403", code)
	}
	code, loc, _ := c.do(http.MethodPost, "/regularizar", url.Values{"plazo": {"critico"}, "tipo": {"2"}}, true, nil)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/regularizaciones/") {
		t.Fatalf("regularize: %d to %q, want 303 to its page", code, loc)
	}
	want := estado.DiaEnLima(time.Now()).Antes(4).Inicio() // critico: issued 5 or more days ago
	if !pedido.EmitidosAntesDe.Equal(want) || pedido.Tipo != 2 {
		t.Errorf("asked for %+v, want tipo 2 issued before %v", pedido, want)
	}
	if body := c.get(loc); !strings.Contains(body, "2-BREG-1") || !strings.Contains(body, "completa") {
		t.Errorf("the run's page lacks its result or its unresolved comprobante")
	}
	if body := c.get("/regularizaciones"); !strings.Contains(body, "consola") {
		t.Errorf("the list lacks the run")
	}
	csvBody := c.get(loc + "/no-resueltas.csv")
	if !strings.Contains(csvBody, "tipo_de_comprobante,serie,numero,motivo,detalle") || !strings.Contains(csvBody, "2,BREG,1,no_existe_en_nubefact,codigo 24") {
		t.Errorf("CSV:\n%s", csvBody)
	}
	if code, _, _ := c.do(http.MethodGet, "/regularizaciones/999999", nil, true, nil); code != http.StatusNotFound {
		t.Errorf("an unknown run: %d, want 404", code)
	}
	var n int
	if err := c.pool.QueryRow(context.Background(), `SELECT count(*) FROM acciones WHERE accion = 'regularizar' AND usuario = 'ana' AND resultado = 'ok'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("recorded %d regularize actions (%v), want 1", n, err)
	}
}

func TestConsolaDLQ(t *testing.T) {
	t.Parallel()
	c := newConsoleOpts(t, func(o *console.Options) {
		o.DeadLetters = func(context.Context, uint64, int) ([]estado.DeadLetter, error) {
			return []estado.DeadLetter{{Seq: 7, Stored: time.Now(), Reason: "undecodable: <b>bad</b>", Payload: []byte(`{"serie":"<script>x</script>"}`)}}, nil
		}
	})
	body := c.get("/dlq")
	if !strings.Contains(body, "#7") || !strings.Contains(body, "&lt;b&gt;bad&lt;/b&gt;") || strings.Contains(body, "<script>x") {
		t.Errorf("the DLQ page does not list the message escaped:\n%s", body)
	}
}

// siguiente is the page's "next" link, unescaped, or "" on the last page.
var siguiente = regexp.MustCompile(`<a href="([^"]+)">(?:Siguientes|Anteriores) →</a>`)

// recorrer follows the "next" links from path and returns every page.
func (c *fixture) recorrer(path string) []string {
	c.t.Helper()
	var pages []string
	for path != "" && len(pages) < 100 {
		body := c.get(path)
		pages = append(pages, body)
		path = ""
		if m := siguiente.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return pages
}

// TestConsolaListasPorPaginas: 250 parked notifications are listed 100 a page, following the
// links shows each once; Descartar acts on the row named only.
func TestConsolaListasPorPaginas(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.exec(`INSERT INTO aparcadas (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, motivo, intentos, payload, aparcada_en)
		SELECT 'msg-' || g, 'webhook', now(), 2, 'BPAG', g, 'no está', 1, '{"secreto":"payload-' || g || '"}',
			now() - (1000 - g) * interval '1 minute'
		FROM generate_series(1, 250) g`)
	pages := c.recorrer("/esperando")
	fila := regexp.MustCompile(`href="/comprobantes/2-BPAG-(\d+)"`)
	var vistas []string
	for i, p := range pages {
		ms := fila.FindAllStringSubmatch(p, -1)
		if i < 2 && len(ms) != 100 {
			t.Errorf("page %d lists %d, want 100", i+1, len(ms))
		}
		for _, m := range ms {
			vistas = append(vistas, m[1])
		}
		if strings.Contains(p, "payload-") {
			t.Error("a list page shows a payload")
		}
	}
	var want []string
	for n := 1; n <= 250; n++ {
		want = append(want, strconv.Itoa(n))
	}
	if len(pages) != 3 || !slices.Equal(vistas, want) {
		t.Errorf("%d pages listing %d rows, want 3 listing 1..250 once, oldest first", len(pages), len(vistas))
	}
	if code, _, _ := c.do(http.MethodPost, "/esperando/msg-170/descartar", url.Values{"motivo": {"prueba"}}, true, nil); code != http.StatusSeeOther {
		t.Fatalf("discard: %d", code)
	}
	var quedan int
	var descartada bool
	if err := c.pool.QueryRow(context.Background(), `SELECT count(*), bool_or(message_id = 'msg-170') FROM aparcadas`).Scan(&quedan, &descartada); err != nil {
		t.Fatal(err)
	}
	if quedan != 249 || descartada {
		t.Errorf("after discarding msg-170: %d parked (msg-170 among them: %v), want 249 without it", quedan, descartada)
	}
}

// TestConsolaHistoriaPorPaginas: a comprobante with many audit rows and a few actions; its page
// shows the most recent 25 (a page showing payloads), newest first, and the older pages follow,
// each row once.
func TestConsolaHistoriaPorPaginas(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BHIS", 1, 1)
	c.exec(`INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, resultado,
			efecto, motivo, payload)
		SELECT 'h-' || g, 'webhook', now() - (1000 - g) * interval '1 minute', 2, 'BHIS', 1, 'aceptado', 'conflicto',
			'otro hash', '{"n":"' || repeat('p', 10000) || '"}'
		FROM generate_series(1, 230) g`)
	// Two actions (in the order they were taken): before every audit row, and between h-130 and h-129.
	c.exec(`INSERT INTO acciones (usuario, accion, objeto, tipo_de_comprobante, serie, numero, resultado, realizada_en) VALUES
		('ana', 'reenviar', 'y', 2, 'BHIS', 1, 'ok', now() - 2000 * interval '1 minute'),
		('ana', 'marcar_revisado', 'x', 2, 'BHIS', 1, 'ok', now() - (1000 - 130) * interval '1 minute' - interval '30 seconds')`)
	pages := c.recorrer("/comprobantes/2-BHIS-1")
	item := regexp.MustCompile(`· (h-\d+)<|acción: (\w+) por`)
	var vistas []string
	for i, p := range pages {
		ms := item.FindAllStringSubmatch(p, -1)
		if len(ms) == 0 {
			t.Fatalf("page %d shows nothing:\n%s", i+1, p[:min(len(p), 3000)])
		}
		if i == 0 && (len(ms) != 25 || ms[0][1] != "h-230") {
			t.Errorf("the first page shows %d rows starting at %v, want 25 starting with the newest (h-230)", len(ms), ms[0])
		}
		for _, m := range ms {
			vistas = append(vistas, m[1]+m[2])
		}
		if !strings.Contains(p, "bytes en total") {
			t.Errorf("page %d: the long payloads are not cut", i+1)
		}
	}
	var want []string
	for n := 230; n >= 1; n-- {
		want = append(want, "h-"+strconv.Itoa(n))
		if n == 130 {
			want = append(want, "marcar_revisado")
		}
	}
	want = append(want, "reenviar")
	if len(pages) != 10 || !slices.Equal(vistas, want) {
		t.Errorf("%d pages showing %d rows; want 10 pages showing the 230 audit rows and 2 actions newest first, each once\n%v", len(pages), len(vistas), vistas)
	}
}

func TestConsolaConflictosYDLQPorPaginas(t *testing.T) {
	t.Parallel()
	var pedidas []uint64
	c := newConsoleOpts(t, func(o *console.Options) {
		// A DLQ of 150 messages, sequences 1..150.
		o.DeadLetters = func(_ context.Context, antes uint64, limit int) ([]estado.DeadLetter, error) {
			pedidas = append(pedidas, antes)
			var out []estado.DeadLetter
			seq := uint64(150)
			if antes > 0 {
				seq = antes - 1
			}
			for ; seq >= 1 && len(out) < limit; seq-- {
				out = append(out, estado.DeadLetter{Seq: seq, Reason: "undecodable", Payload: []byte(strings.Repeat("x", 20000))})
			}
			return out, nil
		}
	})
	pages := c.recorrer("/dlq")
	if len(pages) != 6 || !slices.Equal(pedidas, []uint64{0, 126, 101, 76, 51, 26}) || !strings.Contains(pages[5], "#25 ·") || !strings.Contains(pages[5], "#1 ·") {
		t.Errorf("DLQ: %d pages asking before %v, want 6 of 25 (150..126, ..., 25..1)", len(pages), pedidas)
	}
	if strings.Contains(pages[0], strings.Repeat("x", 9000)) {
		t.Error("the DLQ shows a 20 KB payload whole")
	}
	for n := 1; n <= 130; n++ {
		c.conflicto("BCON", n, `{"codigo_hash":"h`+strconv.Itoa(n)+`="}`)
	}
	pages = c.recorrer("/conflictos")
	total := 0
	for _, p := range pages {
		total += strings.Count(p, `<h2 id="c`)
	}
	if len(pages) != 6 || total != 130 || !strings.Contains(pages[0], "h130=") || !strings.Contains(pages[5], "h1=") {
		t.Errorf("conflicts: %d pages showing %d, want 6 of 25 showing 130, newest first", len(pages), total)
	}
}

// A long payload of accented text is cut by characters and said to be cut by its bytes: 9,000
// "ñ" are 18,000 bytes, of which the page shows the first 8 K characters.
func TestConsolaHistoriaCortaPorBytes(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BUTF", 1, 1)
	c.exec(`INSERT INTO notificaciones (message_id, origen, recibido_en, tipo_de_comprobante, serie, numero, resultado,
			efecto, motivo, payload)
		VALUES ('u-1', 'webhook', now(), 2, 'BUTF', 1, 'aceptado', 'conflicto', 'otro hash', repeat('ñ', 9000))`)
	page := c.get("/comprobantes/2-BUTF-1")
	if !strings.Contains(page, "18000 bytes en total") {
		t.Errorf("the cut payload does not say its 18000 bytes")
	}
	if strings.Contains(page, strings.Repeat("ñ", 8193)) {
		t.Error("more than 8 K characters shown")
	}
}
