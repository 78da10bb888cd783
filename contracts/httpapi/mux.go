package httpapi

import (
	"net/http"
	"path"
	"strings"
)

// StrictMux serves mux with two changes. A path the mux would clean with a redirect (//x, /./x,
// /a/../x) is a 404: the redirect's Location would repeat the query string, ?token= and all.
// And the mux's own 404 and 405 (which keeps its Allow header) become problem documents. The
// mux's one other redirect, /tree to /tree/, needs a pattern ending in "/": none of ours has one.
func StrictMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != canonicalPath(r.URL.Path) {
			WriteProblem(w, Problem{Status: http.StatusNotFound, Detail: "paths are not cleaned: send it without //, /./ or /../"})
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // it sets r.Pattern and the path values; Handler does not
			return
		}
		var answer muxAnswer
		h.ServeHTTP(&answer, r)
		if allow := answer.header.Get("Allow"); answer.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allow)
			WriteProblem(w, Problem{Status: http.StatusMethodNotAllowed, Detail: "allowed: " + allow})
			return
		}
		WriteProblem(w, Problem{Status: http.StatusNotFound})
	})
}

// canonicalPath is the path http.ServeMux would redirect p to: rooted, without empty, "." or
// ".." segments, keeping a trailing slash.
func canonicalPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// muxAnswer takes the status and headers of the mux's own 404 or 405, and drops its text body.
type muxAnswer struct {
	header http.Header
	status int
}

func (a *muxAnswer) Header() http.Header {
	if a.header == nil {
		a.header = http.Header{}
	}
	return a.header
}

func (a *muxAnswer) Write(b []byte) (int, error) { return len(b), nil }

func (a *muxAnswer) WriteHeader(status int) { a.status = status }
