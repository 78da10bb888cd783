package consola

import (
	"bufio"
	"io"
	"net/http"
	"sync"
)

// escritores are the buffers pages are written through: a page goes to the client as it is
// rendered, 8 KiB at a time, never whole in memory (a page of 100 rows weighs about 100 KiB, and
// buffering it whole was a fifth of the bytes a page load allocated).
var escritores = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}

// render writes the page nombre with data. A template that fails before its first 8 KiB reached
// the client is answered with a 500; one that fails later has already sent its 200, so the
// connection is cut instead (http.ErrAbortHandler): a browser shows a failed load, never half a
// page as if it were whole. Templates fail only on a programming error.
func (c *consola) render(w http.ResponseWriter, r *http.Request, nombre string, data any) {
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
	err := c.paginas[nombre].ExecuteTemplate(bw, "base", data)
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case err == nil, out.err != nil: // written, or the client went away: nothing to say to it
	case !out.empezada:
		c.fallo(w, r, err)
	default:
		c.Log.Error("console: page cut short", "path", r.URL.Path, "err", err)
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

func (c *consola) fallo(w http.ResponseWriter, r *http.Request, err error) {
	c.Log.Error("console", "path", r.URL.Path, "err", err)
	http.Error(w, "error interno: vea el log del reconciliador", http.StatusInternalServerError)
}
