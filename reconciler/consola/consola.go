// Package consola is the ops console: server-rendered pages (html/template, embedded, no
// JavaScript needed) over the reconciler's Postgres, for the hotel's ops and its accountant.
// Every request needs HTTP Basic credentials of CONSOLE_USERS; every POST is refused when it
// comes from another site (http.CrossOriginProtection) and is recorded in the acciones table.
package consola

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/reconciler/stream"
)

//go:embed plantillas/*.html
var plantillasFS embed.FS

// Salud is the pipeline's health as the summary shows it.
type Salud struct {
	Postgres bool
	NATS     bool
	Cola     string // the consumer's backlog (pending + ack-pending), or why it is unknown
	Muertas  string // messages in the dead-letter stream, or why it is unknown
}

// Opciones are what the console needs.
type Opciones struct {
	Store      *postgres.Store
	Usuarios   *Usuarios
	Login      LoginLimits // CONSOLE_LOGIN_*; zero fields take DefaultLoginLimits
	Umbrales   estado.Umbrales
	Salud      func(context.Context) Salud
	Programada time.Duration // REGULARIZE_EVERY, 0 when off
	// Regularizar starts a run for filtro in the background on behalf of usuario and returns
	// its record's id; nil when NubeFacT is not configured.
	Regularizar func(ctx context.Context, filtro estado.Filtro, usuario string) (int64, error)
	// Muertas reads up to limit dead letters before the sequence antes (0: the newest), newest
	// first (stream.Muertas).
	Muertas func(ctx context.Context, antes uint64, limit int) ([]stream.Muerta, error)
	// Reenviar publishes the parked notification messageID again (reconciler.Reenviar).
	Reenviar func(ctx context.Context, messageID string) error
	Log      *slog.Logger
	Now      func() time.Time
}

type consola struct {
	Opciones
	paginas map[string]*template.Template
}

// New returns the console's handler: authentication, cross-origin protection, the pages.
func New(o Opciones) (http.Handler, error) {
	if o.Usuarios == nil || o.Usuarios.Len() == 0 {
		return nil, errors.New("the console needs at least one user in CONSOLE_USERS")
	}
	if o.Log == nil {
		return nil, errors.New("the console needs a logger")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &consola{Opciones: o, paginas: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"lima":  lima,
		"deref": func(s *string) string { return deref(s) },
		"https": https,
		"tipo":  nombreTipo,
	}
	for _, p := range []string{"resumen", "pendientes", "comprobante", "conflictos", "esperando", "regularizaciones", "regularizacion", "dlq"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(plantillasFS, "plantillas/base.html", "plantillas/"+p+".html")
		if err != nil {
			return nil, err
		}
		c.paginas[p] = t
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.resumen)
	mux.HandleFunc("GET /pendientes", c.pendientes)
	mux.HandleFunc("GET /buscar", c.buscar)
	mux.HandleFunc("GET /comprobantes/{clave}", c.comprobante)
	mux.HandleFunc("GET /conflictos", c.conflictos)
	mux.HandleFunc("POST /conflictos/{id}/revisado", c.marcarRevisado)
	mux.HandleFunc("GET /esperando", c.esperando)
	mux.HandleFunc("GET /regularizaciones", c.regularizaciones)
	mux.HandleFunc("GET /regularizaciones/{id}", c.regularizacion)
	mux.HandleFunc("GET /regularizaciones/{id}/no-resueltas.csv", c.noResueltasCSV)
	mux.HandleFunc("POST /regularizar", c.regularizar)
	mux.HandleFunc("POST /regularizaciones/{id}/detener", c.detener)
	mux.HandleFunc("GET /dlq", c.dlq)
	mux.HandleFunc("POST /esperando/{id}/reenviar", c.reenviar)
	mux.HandleFunc("POST /esperando/{id}/descartar", c.descartar)
	// Outermost: a cross-site POST is refused (403) before anything else, credentials or not.
	return http.NewCrossOriginProtection().Handler(newLogin(c, o.Login).autenticar(httpapi.StrictMux(mux))), nil
}

// pagina is what every page's template receives besides its own data.
type pagina struct {
	Titulo string
	Error  string
}

// Resumen

type filaPlazo struct {
	Tipo    string
	Valores []int64
}

func (c *consola) resumen(w http.ResponseWriter, r *http.Request) {
	foto, err := c.Store.Fotografiar(r.Context())
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	acciones, err := c.Store.Acciones(r.Context(), 10)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	now := c.Now()
	recientes, err := c.Store.ConteosRecientes(r.Context(), estado.DiaEnLima(now))
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	bandas := map[int]map[estado.Plazo]int64{}
	total := map[estado.Plazo]int64{}
	for _, p := range foto.PendientesPorDia {
		b := c.Umbrales.Banda(estado.DiasDesde(p.Dia, now))
		if bandas[p.Tipo] == nil {
			bandas[p.Tipo] = map[estado.Plazo]int64{}
		}
		bandas[p.Tipo][b] += p.N
		total[b] += p.N
	}
	var filas []filaPlazo
	for _, tipo := range []int{contracts.Factura, contracts.Boleta, contracts.NotaDeCredito, contracts.NotaDeDebito} {
		f := filaPlazo{Tipo: nombreTipo(tipo)}
		for _, p := range estado.Plazos {
			f.Valores = append(f.Valores, bandas[tipo][p])
		}
		filas = append(filas, f)
	}
	salud := Salud{Postgres: true, NATS: true, Cola: "?", Muertas: "?"}
	if c.Salud != nil {
		salud = c.Salud(r.Context())
	}
	var proxima time.Time
	if c.Programada > 0 {
		if ultima, err := c.Store.UltimaRegularizacion(r.Context(), estado.RegularizacionProgramada); err == nil && !ultima.IsZero() {
			proxima = ultima.Add(c.Programada)
		}
	}
	c.render(w, r, "resumen", struct {
		pagina
		Ahora      time.Time
		Plazos     []estado.Plazo
		FilasPlazo []filaPlazo
		Grafico    template.HTML
		Conteos    []postgres.ConteoEstado
		Recientes  []postgres.ConteoReciente
		Foto       postgres.Foto
		Salud      Salud
		Programada time.Duration
		Proxima    time.Time
		Acciones   []postgres.Accion
	}{pagina{Titulo: "Resumen"}, now, estado.Plazos, filas, grafico(total), foto.Comprobantes, recientes, foto, salud, c.Programada, proxima, acciones})
}

// grafico draws the pending comprobantes by band as an inline SVG bar chart.
func grafico(total map[estado.Plazo]int64) template.HTML {
	colores := map[estado.Plazo]string{estado.EnPlazo: "#1f7a3a", estado.Atencion: "#d4a017", estado.Critico: "#c2410c", estado.Vencido: "#b91c1c"}
	var maximo int64 = 1
	for _, n := range total {
		maximo = max(maximo, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="Pendientes por plazo" width="100%%" viewBox="0 0 420 %d" style="max-width:42rem;background:#fff">`, 30*len(estado.Plazos)+10)
	for i, p := range estado.Plazos {
		y := 10 + 30*i
		ancho := int(300 * total[p] / maximo)
		fmt.Fprintf(&b, `<text x="5" y="%d" font-size="13">%s</text><rect x="80" y="%d" width="%d" height="18" fill="%s"/><text x="%d" y="%d" font-size="13">%d</text>`,
			y+14, p, y, ancho, colores[p], 85+ancho, y+14, total[p])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from band names and numbers only
}

// Pendientes

type filaPendiente struct {
	Clave     string
	Dia       string
	Dias      int
	Plazo     estado.Plazo
	Restantes int
}

const porPagina = 100

// conPayloadsPorPagina is the page size of the pages that read payloads (the timeline, the DLQ,
// the conflicts): a page of 25 payloads cut at 8,192 characters (8 to 32 KiB each) is at most
// 800 KiB, whatever an attacker sent. /conflictos reads its payloads whole (for the hash and the CDR that arrived), so 25 of
// them is the most it holds at once.
const conPayloadsPorPagina = 25

func (c *consola) pendientes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := c.Now()
	hoy := estado.DiaEnLima(now)
	var f postgres.FiltroPendientes
	var errMsg string
	if t := q.Get("tipo"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || !contracts.TipoValido(n) {
			errMsg = "tipo desconocido: elija 1 factura, 2 boleta, 3 nota de crédito o 4 nota de débito"
		} else {
			f.Tipo = n
		}
	}
	f.Serie = strings.ToUpper(strings.TrimSpace(q.Get("serie")))
	plazo := q.Get("plazo")
	if plazo != "" {
		desde, hasta, err := c.rango(estado.Plazo(plazo), hoy)
		if err != nil { // said in fixed words: the page never repeats the URL's
			errMsg, plazo = "plazo desconocido: elija en_plazo, atencion, critico o vencido", ""
		} else {
			f.Desde, f.Hasta = desde, hasta
		}
	}
	var despues postgres.Cursor
	if d := q.Get("despues"); d != "" {
		dia, id, ok := strings.Cut(d, "_")
		t, err := time.Parse(time.DateOnly, dia)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || err2 != nil {
			errMsg = "página inválida: se muestra la primera"
		} else {
			despues = postgres.Cursor{Dia: estado.DiaDeFecha(t), ID: n}
		}
	}
	ps, err := c.Store.PendientesPorDia(r.Context(), f, despues, porPagina)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	filas := make([]filaPendiente, len(ps))
	for i, p := range ps {
		dias := estado.DiasDesde(p.Dia, now)
		filas[i] = filaPendiente{Clave: p.Clave.String(), Dia: p.Dia.Format(time.DateOnly), Dias: dias,
			Plazo: c.Umbrales.Banda(dias), Restantes: c.Umbrales.Plazo - dias}
	}
	var siguiente string
	if len(ps) == porPagina {
		last := ps[len(ps)-1]
		v := url.Values{}
		for _, k := range []string{"tipo", "serie", "plazo"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("despues", last.Dia.Format(time.DateOnly)+"_"+strconv.FormatInt(last.ID, 10))
		siguiente = "/pendientes?" + v.Encode()
	}
	tipoSel := ""
	if f.Tipo != 0 {
		tipoSel = strconv.Itoa(f.Tipo)
	}
	c.render(w, r, "pendientes", struct {
		pagina
		Filtro    struct{ Tipo, Serie, Plazo string }
		Tipos     map[string]string
		Plazos    []estado.Plazo
		Filas     []filaPendiente
		Siguiente string
	}{pagina{Titulo: "Pendientes", Error: errMsg}, struct{ Tipo, Serie, Plazo string }{tipoSel, f.Serie, plazo},
		map[string]string{"1": "factura", "2": "boleta", "3": "nota de crédito", "4": "nota de débito"},
		estado.Plazos, filas, siguiente})
}

// rango is the days of issue of band p, as of today.
func (c *consola) rango(p estado.Plazo, hoy estado.Dia) (desde, hasta estado.Dia, err error) {
	min, err := c.Umbrales.DiasMinimos(p)
	if err != nil {
		return desde, hasta, err
	}
	hasta = hoy.Antes(min)
	i := 0
	for i < len(estado.Plazos) && estado.Plazos[i] != p {
		i++
	}
	if i+1 < len(estado.Plazos) {
		next, _ := c.Umbrales.DiasMinimos(estado.Plazos[i+1])
		desde = hoy.Antes(next - 1)
	}
	return desde, hasta, nil
}

// Comprobante and its timeline

type evento struct {
	Cuando  time.Time
	Que     string
	Detalle string
	Payload string
}

// paginaComprobante is what comprobante.html shows.
type paginaComprobante struct {
	pagina
	Clave       string
	Comprobante *postgres.Comprobante
	Historia    []evento
	Siguiente   string // the link to the older page, if there is one
	Dia         string
	Dias        int
	Plazo       estado.Plazo
}

func (c *consola) buscar(w http.ResponseWriter, r *http.Request) {
	clave, err := parseClave(strings.TrimSpace(r.URL.Query().Get("q")))
	if err != nil {
		c.render(w, r, "comprobante", paginaComprobante{pagina: pagina{Titulo: "Buscar", Error: err.Error()}, Clave: "Buscar"})
		return
	}
	http.Redirect(w, r, "/comprobantes/"+clave.String(), http.StatusSeeOther)
}

// parseClave reads "2-BBB1-105". A key outside SUNAT's ranges (contracts.Clave.Validate) is an
// error: it names no comprobante, and a numero past Postgres's integer would fail the query.
func parseClave(s string) (contracts.Clave, error) {
	errFormato := errors.New("escriba tipo-serie-número, por ejemplo 2-BBB1-105")
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return contracts.Clave{}, errFormato
	}
	tipo, err1 := strconv.Atoi(parts[0])
	numero, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return contracts.Clave{}, errFormato
	}
	clave := contracts.Clave{TipoDeComprobante: tipo, Serie: strings.ToUpper(parts[1]), Numero: numero}
	if clave.Validate() != nil {
		return contracts.Clave{}, errors.New("no es una clave de comprobante: tipo 1 a 4, serie de 4 letras o cifras (B… en boletas, F… en facturas, 0… de contingencia), número de 1 a 99999999")
	}
	return clave, nil
}

func (c *consola) comprobante(w http.ResponseWriter, r *http.Request) {
	clave, err := parseClave(r.PathValue("clave"))
	if err != nil {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: err.Error()})
		return
	}
	row, found, err := c.Store.Comprobante(r.Context(), clave)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	var antes postgres.CursorHistoria
	var siguientePath, errMsg string
	if v := r.URL.Query().Get("antes"); v != "" {
		if antes, err = parseCursorHistoria(v); err != nil {
			errMsg = "página inválida: se muestra la más reciente"
		}
	}
	auditadas, acciones, err := c.Store.Historia(r.Context(), clave, antes, conPayloadsPorPagina)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	historia, siguiente := paginaHistoria(auditadas, acciones, antes, conPayloadsPorPagina)
	if siguiente != (postgres.CursorHistoria{}) {
		siguientePath = "/comprobantes/" + clave.String() + "?antes=" + strconv.FormatInt(siguiente.Auditada, 10) + "_" + strconv.FormatInt(siguiente.Accion, 10)
	}
	data := paginaComprobante{pagina: pagina{Titulo: clave.String(), Error: errMsg}, Clave: clave.String(), Historia: historia, Siguiente: siguientePath}
	if found {
		data.Comprobante = &row
		data.Dia = row.Dia().Format(time.DateOnly)
		data.Dias = estado.DiasDesde(row.Dia(), c.Now())
		data.Plazo = c.Umbrales.Banda(data.Dias)
	}
	c.render(w, r, "comprobante", data)
}

// paginaHistoria merges a page of the audit and one of the actions (each newest first) into the
// timeline's page: the newest limit of them, newest first, and the cursor of the next (older)
// page, zero when there is none. Each source gives a prefix of its rows, so the cursor (the last
// id shown of each) skips nothing.
func paginaHistoria(auditadas []postgres.Auditada, acciones []postgres.Accion, antes postgres.CursorHistoria, limit int) ([]evento, postgres.CursorHistoria) {
	var historia []evento
	siguiente := antes
	i, j := 0, 0
	for i+j < limit && (i < len(auditadas) || j < len(acciones)) {
		if j == len(acciones) || i < len(auditadas) && !auditadas[i].RecibidoEn.Before(acciones[j].RealizadaEn) {
			historia = append(historia, eventosDe(auditadas[i])...)
			siguiente.Auditada = auditadas[i].ID
			i++
			continue
		}
		a := acciones[j]
		historia = append(historia, evento{Cuando: a.RealizadaEn, Que: "acción: " + a.Accion + " por " + a.Usuario,
			Detalle: a.Detalle + " · " + a.Resultado})
		siguiente.Accion = a.ID
		j++
	}
	if i == len(auditadas) && j == len(acciones) && len(auditadas) < limit && len(acciones) < limit {
		return historia, postgres.CursorHistoria{} // both sources are exhausted
	}
	return historia, siguiente
}

// eventosDe is what one audit row shows on the timeline, newest first.
func eventosDe(a postgres.Auditada) []evento {
	que := "notificación (" + a.Origen + "): " + a.Efecto
	if a.EstadoNuevo != nil && a.EstadoAnterior != nil && *a.EstadoNuevo != *a.EstadoAnterior {
		que += ", " + *a.EstadoAnterior + " → " + *a.EstadoNuevo
	}
	detalle := a.Motivo
	if a.Remitente != nil {
		detalle += " · remitente " + *a.Remitente
	}
	payload := bonito(a.Payload)
	if a.Largo > len(a.Payload) {
		payload = a.Payload + fmt.Sprintf("\n… (%d bytes en total: la auditoría lo guarda entero)", a.Largo)
	}
	out := []evento{{Cuando: a.RecibidoEn, Que: que, Detalle: detalle + " · " + a.MessageID, Payload: payload}}
	if a.Efecto == string(estado.Aplicado) || a.Efecto == string(estado.Completado) {
		out = append([]evento{{Cuando: a.RegistradoEn, Que: "evento escrito para los suscriptores",
			Detalle: "publicado por el relay en cuanto NATS lo acepta"}}, out...)
	}
	return out
}

// parseCursorHistoria reads "auditada_accion", as the timeline's link writes it.
func parseCursorHistoria(s string) (postgres.CursorHistoria, error) {
	a, b, ok := strings.Cut(s, "_")
	n, err1 := strconv.ParseInt(a, 10, 64)
	m, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 0 || m < 0 {
		return postgres.CursorHistoria{}, fmt.Errorf("invalid cursor %q", s)
	}
	return postgres.CursorHistoria{Auditada: n, Accion: m}, nil
}

// bonito pretty-prints a JSON payload (html/template escapes it when rendered).
func bonito(payload string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(payload), "", "  ") != nil {
		return payload
	}
	return b.String()
}

// Conflicts

type conflicto struct {
	postgres.Conflicto
	HashRecibido, CDRRecibido string
}

func (c *consola) conflictos(w http.ResponseWriter, r *http.Request) {
	var despues postgres.CursorConflicto
	var errMsg string
	if v := r.URL.Query().Get("despues"); v != "" {
		rev, id, ok := strings.Cut(v, "_")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || n < 1 || (rev != "0" && rev != "1") {
			errMsg = "página inválida: se muestra la primera"
		} else {
			despues = postgres.CursorConflicto{Revisado: rev == "1", ID: n}
		}
	}
	cs, err := c.Store.Conflictos(r.Context(), despues, conPayloadsPorPagina)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	var siguiente string
	if len(cs) == conPayloadsPorPagina {
		last := cs[len(cs)-1].Cursor()
		rev := "0"
		if last.Revisado {
			rev = "1"
		}
		siguiente = "/conflictos?despues=" + rev + "_" + strconv.FormatInt(last.ID, 10)
	}
	out := make([]conflicto, len(cs))
	for i, x := range cs {
		out[i] = conflicto{Conflicto: x}
		var n contracts.Notificacion
		if json.Unmarshal([]byte(x.Payload), &n) == nil {
			out[i].HashRecibido, out[i].CDRRecibido = deref(n.CodigoHash), deref(n.EnlaceDelCDR)
		}
		out[i].Payload = "" // shown only through the hash and the CDR
	}
	c.render(w, r, "conflictos", struct {
		pagina
		Conflictos []conflicto
		Siguiente  string
	}{pagina{Titulo: "Conflictos", Error: errMsg}, out, siguiente})
}

func (c *consola) marcarRevisado(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	nota := strings.TrimSpace(r.FormValue("nota"))
	switch {
	case err != nil:
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such notification"})
		return
	case nota == "":
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "escriba una nota: qué se verificó"})
		return
	}
	err = c.Store.MarcarRevisado(r.Context(), id, usuario(r), nota)
	if errors.Is(err, postgres.ErrNoEsConflicto) {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: err.Error()})
		return
	}
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	c.Log.Info("console: conflict marked reviewed", "user", usuario(r), "notificacion", id)
	http.Redirect(w, r, "/conflictos#c"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// Regularizations

func (c *consola) regularizaciones(w http.ResponseWriter, r *http.Request) {
	runs, err := c.Store.Regularizaciones(r.Context(), 200)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	c.render(w, r, "regularizaciones", struct {
		pagina
		Runs []postgres.Regularizacion
	}{pagina{Titulo: "Regularizaciones", Error: aviso(r)}, runs})
}

// run reads the regularization of the path, answering 404 when there is none.
func (c *consola) run(w http.ResponseWriter, r *http.Request) (postgres.Regularizacion, []postgres.NoResuelta, bool) {
	var run postgres.Regularizacion
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	found := false
	if err == nil {
		if run, found, err = c.Store.RegularizacionPorID(r.Context(), id); err != nil {
			c.fallo(w, r, err)
			return run, nil, false
		}
	}
	if !found {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such regularization"})
		return run, nil, false
	}
	nr, err := c.Store.NoResueltas(r.Context(), run.ID)
	if err != nil {
		c.fallo(w, r, err)
		return run, nil, false
	}
	return run, nr, true
}

func (c *consola) regularizacion(w http.ResponseWriter, r *http.Request) {
	run, nr, ok := c.run(w, r)
	if !ok {
		return
	}
	c.render(w, r, "regularizacion", struct {
		pagina
		Run         postgres.Regularizacion
		NoResueltas []postgres.NoResuelta
	}{pagina{Titulo: "Regularización " + strconv.FormatInt(run.ID, 10), Error: aviso(r)}, run, nr})
}

// noResueltasCSV is the run's report, as `regularize --report` writes it.
func (c *consola) noResueltasCSV(w http.ResponseWriter, r *http.Request) {
	run, nr, ok := c.run(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="regularizacion-%d-no-resueltas.csv"`, run.ID))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"tipo_de_comprobante", "serie", "numero", "motivo", "detalle"})
	for _, n := range nr {
		_ = cw.Write([]string{strconv.Itoa(n.Clave.TipoDeComprobante), n.Clave.Serie, strconv.Itoa(n.Clave.Numero),
			regularizacion.CeldaCSV(n.Motivo), regularizacion.CeldaCSV(n.Detalle)})
	}
	cw.Flush()
}

// regularizar starts a run for the filter of /pendientes and leads to its page.
func (c *consola) regularizar(w http.ResponseWriter, r *http.Request) {
	var f estado.Filtro
	if t := r.FormValue("tipo"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || !contracts.TipoValido(n) {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "tipo desconocido: " + t})
			return
		}
		f.Tipo = n
	}
	f.Serie = strings.ToUpper(strings.TrimSpace(r.FormValue("serie")))
	if p := r.FormValue("plazo"); p != "" {
		_, hasta, err := c.rango(estado.Plazo(p), estado.DiaEnLima(c.Now()))
		if err != nil {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: err.Error()})
			return
		}
		// That band or a more urgent one: issued on hasta or before.
		f.EmitidosAntesDe = estado.Dia{Time: hasta.AddDate(0, 0, 1)}.Inicio()
	}
	objeto := (regularizacion.Options{Filtro: f}).Descripcion()
	accion := postgres.Accion{Usuario: usuario(r), Accion: "regularizar", Objeto: objeto, Resultado: "ok"}
	if c.Regularizar == nil {
		accion.Resultado = "no disponible: configure NUBEFACT_RUTA y NUBEFACT_TOKEN en el reconciliador"
		c.registrar(w, r, accion, "/regularizaciones", avisoRegularizarNoDisponible)
		return
	}
	id, err := c.Regularizar(r.Context(), f, usuario(r))
	if err != nil {
		accion.Resultado = "error: " + err.Error()
		c.registrar(w, r, accion, "/regularizaciones", avisoRegularizarFallida)
		return
	}
	accion.Detalle = "regularización " + strconv.FormatInt(id, 10)
	c.registrar(w, r, accion, "/regularizaciones/"+strconv.FormatInt(id, 10), "")
}

// detener asks a running regularization to stop (Detener): the request goes through its row,
// since the run may be on another reconciler, which ends it as interrumpida within a second. A
// run whose reconciler died holds no lock any more: it is closed here and now.
func (c *consola) detener(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such regularization"})
		return
	}
	volver := "/regularizaciones/" + strconv.FormatInt(id, 10)
	accion := postgres.Accion{Usuario: usuario(r), Accion: "detener", Objeto: "regularización " + strconv.FormatInt(id, 10), Resultado: "ok"}
	pedida, err := c.Store.PedirDetencion(r.Context(), id, usuario(r))
	codigo := ""
	switch {
	case err != nil:
		accion.Resultado, codigo = "error: "+err.Error(), avisoDetenerFallida
	case !pedida:
		accion.Resultado, codigo = "no estaba en curso (ya terminó, o ya se pidió detenerla)", avisoNoEnCurso
	default:
		if _, err := c.Store.ConCandadoDeRegularizacion(r.Context(), func(context.Context) error { return nil }); err != nil {
			c.Log.Warn("console: closing abandoned regularizations", "err", err)
		}
	}
	c.registrar(w, r, accion, volver, codigo)
}

// Dead letters

type muerta struct {
	stream.Muerta
	Payload string
}

func (c *consola) dlq(w http.ResponseWriter, r *http.Request) {
	var ms []stream.Muerta
	var errMsg string
	var antes uint64
	if v := r.URL.Query().Get("antes"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 2 {
			errMsg = "página inválida: se muestran las más recientes"
		} else {
			antes = n
		}
	}
	if c.Muertas != nil {
		var err error
		if ms, err = c.Muertas(r.Context(), antes, conPayloadsPorPagina); err != nil {
			errMsg = "no se pudo leer la cola de errores: " + err.Error()
		}
	}
	out := make([]muerta, len(ms))
	for i, m := range ms {
		payload := m.Payload
		if len(payload) > postgres.MaxPayloadMostrado {
			out[i].Payload = recortar(string(payload), postgres.MaxPayloadMostrado) + fmt.Sprintf("\n… (%d bytes en total: el stream lo guarda entero)", len(payload))
		} else {
			out[i].Payload = bonito(string(payload))
		}
		m.Payload = nil
		out[i].Muerta = m
	}
	var siguiente string
	if len(ms) == conPayloadsPorPagina && ms[len(ms)-1].Seq > 1 {
		siguiente = "/dlq?antes=" + strconv.FormatUint(ms[len(ms)-1].Seq, 10)
	}
	c.render(w, r, "dlq", struct {
		pagina
		Muertas   []muerta
		Limite    int
		Siguiente string
	}{pagina{Titulo: "DLQ", Error: errMsg}, out, conPayloadsPorPagina, siguiente})
}

// Parked notifications

// filaEsperando is a row of /esperando, flat and formatted here: html/template looks up a field
// promoted from an embedded struct, and calls a function, by reflection that allocates each time,
// and a page has 100 rows.
type filaEsperando struct {
	MessageID, Clave, Origen, Recibida, Espera, Reenviada string
	Veces                                                 int
}

func (c *consola) esperando(w http.ResponseWriter, r *http.Request) {
	p := postgres.PaginaAparcadas{Todas: true, Limit: porPagina}
	// A cursor that does not parse shows the first page.
	p.Despues, _ = postgres.ParseCursorAparcada(r.URL.Query().Get("despues"))
	list, err := c.Store.Aparcadas(r.Context(), p)
	if err != nil {
		c.fallo(w, r, err)
		return
	}
	now := c.Now()
	filas := make([]filaEsperando, len(list))
	for i, a := range list {
		filas[i] = filaEsperando{MessageID: a.MessageID, Clave: a.Clave().String(), Origen: a.Origen, Recibida: lima(a.RecibidoEn),
			Espera: now.Sub(a.AparcadaEn).Round(time.Minute).String(), Reenviada: lima(a.ReenviadaEn), Veces: a.Veces}
	}
	var siguiente string
	if len(list) == porPagina {
		siguiente = "/esperando?" + url.Values{"despues": {list[len(list)-1].Cursor().String()}}.Encode()
	}
	c.render(w, r, "esperando", struct {
		pagina
		Filas     []filaEsperando
		Siguiente string
	}{pagina{Titulo: "Esperando", Error: aviso(r)}, filas, siguiente})
}

// aparcada finds the parked notification id, answering 404 when it is not parked.
func (c *consola) aparcada(w http.ResponseWriter, r *http.Request, id string) (postgres.Aparcada, bool) {
	list, err := c.Store.AparcadasPorID(r.Context(), []string{id})
	if err != nil {
		c.fallo(w, r, err)
		return postgres.Aparcada{}, false
	}
	if len(list) == 1 {
		return list[0], true
	}
	httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such parked notification (applied or discarded meanwhile?)"})
	return postgres.Aparcada{}, false
}

func (c *consola) reenviar(w http.ResponseWriter, r *http.Request) {
	a, ok := c.aparcada(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	clave := a.Clave()
	accion := postgres.Accion{Usuario: usuario(r), Accion: "reenviar", Objeto: a.MessageID, Clave: &clave, Resultado: "ok"}
	var codigo string
	if c.Reenviar == nil {
		accion.Resultado, codigo = "no disponible", avisoReenvioNoDisponible
	} else if err := c.Reenviar(r.Context(), a.MessageID); err != nil {
		accion.Resultado, codigo = "error: "+err.Error(), avisoReenvioFallido
	}
	c.registrar(w, r, accion, "/esperando", codigo)
}

func (c *consola) descartar(w http.ResponseWriter, r *http.Request) {
	motivo := strings.TrimSpace(r.FormValue("motivo"))
	if motivo == "" {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "escriba el motivo del descarte"})
		return
	}
	a, ok := c.aparcada(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	clave := a.Clave()
	accion := postgres.Accion{Usuario: usuario(r), Accion: "descartar", Objeto: a.MessageID, Clave: &clave, Detalle: motivo, Resultado: "ok"}
	done, err := c.Store.Descartar(r.Context(), []string{a.MessageID}, "descartada por "+usuario(r)+" en la consola: "+motivo)
	var codigo string
	switch {
	case err != nil:
		accion.Resultado, codigo = "error: "+err.Error(), avisoDescarteFallido
	case len(done) == 0:
		accion.Resultado, codigo = "ya no estaba aparcada", avisoYaNoAparcada
	}
	c.registrar(w, r, accion, "/esperando", codigo)
}

// registrar records an action and sends the browser back to volver (303); an action that did
// not succeed is said there too, by the code aviso (see avisos.go), "" when it succeeded.
func (c *consola) registrar(w http.ResponseWriter, r *http.Request, a postgres.Accion, volver, aviso string) {
	if err := c.Store.RegistrarAccion(r.Context(), a); err != nil {
		c.fallo(w, r, err)
		return
	}
	c.Log.Info("console action", "user", a.Usuario, "action", a.Accion, "object", a.Objeto, "result", a.Resultado)
	http.Redirect(w, r, conAviso(volver, aviso), http.StatusSeeOther)
}

// Helpers of the templates

func lima(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.In(estado.Lima).Format("2006-01-02 15:04:05")
	case *time.Time:
		if v == nil {
			return ""
		}
		return lima(*v)
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// https returns link only if it is an https URL: anything else is not shown as a link.
func https(link *string) string {
	if link == nil {
		return ""
	}
	u, err := url.Parse(*link)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return *link
}

func nombreTipo(tipo int) string {
	switch tipo {
	case contracts.Factura:
		return "factura"
	case contracts.Boleta:
		return "boleta"
	case contracts.NotaDeCredito:
		return "nota de crédito"
	case contracts.NotaDeDebito:
		return "nota de débito"
	}
	return strconv.Itoa(tipo)
}
