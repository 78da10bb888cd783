package console

import (
	"bufio"
	"embed"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/hotelpe/boletas/reconciler/estado"
)

//go:embed plantillas/*.html
var plantillasFS embed.FS

// pagina is what every page's template receives besides its own data.
type pagina struct {
	Titulo string
	Error  string
}

// views renders the pages (one template each, over plantillas/base.html) and answers what a
// handler cannot: an internal error, a recorded action.
type views struct {
	templates map[string]*template.Template
	log       *slog.Logger
}

func newViews(log *slog.Logger) (*views, error) {
	v := &views{templates: map[string]*template.Template{}, log: log}
	funcs := template.FuncMap{
		"lima":  lima,
		"deref": func(s *string) string { return deref(s) },
		"https": https,
		"tipo":  nombreTipo,
	}
	for _, p := range []string{"resumen", "pendientes", "comprobante", "conflictos", "aparcadas", "regularizaciones", "regularizacion", "deadletters"} {
		t, err := template.New(p).Funcs(funcs).ParseFS(plantillasFS, "plantillas/base.html", "plantillas/"+p+".html")
		if err != nil {
			return nil, err
		}
		v.templates[p] = t
	}
	return v, nil
}

// escritores are the buffers pages are written through: a page goes to the client as it is
// rendered, 8 KiB at a time, never whole in memory (a page of 100 rows weighs about 100 KiB;
// docs/performance.md has what buffering it whole cost).
var escritores = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}

// render writes the page nombre with data. A template that fails before its first 8 KiB reached
// the client is answered with a 500; one that fails later has already sent its 200, so the
// connection is cut instead (http.ErrAbortHandler): a browser shows a failed load, never half a
// page as if it were whole. Templates fail only on a programming error.
func (v *views) render(w http.ResponseWriter, r *http.Request, nombre string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY") // no framing: a click inside a frame would pass as same-origin
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	out := &respuesta{w: w}
	bw := escritores.Get().(*bufio.Writer)
	bw.Reset(out)
	defer func() {
		bw.Reset(nil) // the pool must not keep the response
		escritores.Put(bw)
	}()
	err := v.templates[nombre].ExecuteTemplate(bw, "base", data)
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case err == nil, out.err != nil: // written, or the client went away: nothing to say to it
	case !out.empezada:
		v.fail(w, r, err)
	default:
		v.log.Error("console: page cut short", "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// respuesta is the ResponseWriter as the page's buffer sees it: whether anything was sent yet,
// and the error of the client's connection, if any.
type respuesta struct {
	w        io.Writer
	empezada bool
	err      error
}

func (r *respuesta) Write(p []byte) (int, error) {
	r.empezada = true
	n, err := r.w.Write(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// fail logs err and answers 500, saying no more to the browser than where to look.
func (v *views) fail(w http.ResponseWriter, r *http.Request, err error) {
	v.log.Error("console", "path", r.URL.Path, "err", err)
	http.Error(w, "error interno: vea el log del reconciliador", http.StatusInternalServerError)
}

// registrar records an action and sends the browser back to volver (303); an action that did
// not succeed is said there too, by the code aviso (see avisos.go), "" when it succeeded.
func (v *views) registrar(w http.ResponseWriter, r *http.Request, store Store, a estado.Accion, volver, aviso string) {
	if err := store.RegistrarAccion(r.Context(), a); err != nil {
		v.fail(w, r, err)
		return
	}
	v.log.Info("console action", "user", a.Usuario, "action", a.Accion, "object", a.Objeto, "result", a.Resultado)
	http.Redirect(w, r, conAviso(volver, aviso), http.StatusSeeOther)
}
