// Package httpapi holds the conventions every HTTP listener of ours shares, in ingest and in the
// reconciler: the server's limits and timeouts, RFC 9457 problem documents and JSON answers, a
// mux that never redirects and answers its 404 and 405 as problems, the liveness answer, and
// the profiler's own listener with its address check. Standard library only.
package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// MaxHeader caps a request's line and headers at 16 KiB, on every listener: Go's default of
// 1 MiB let any client (one without a token too) hold a megabyte per connection. Beyond it the
// server answers 431 before any handler runs.
const MaxHeader = 16 << 10

// maxHeaderBytes is http.Server.MaxHeaderBytes for MaxHeader: net/http reads up to 4096 bytes
// beyond that field before it answers 431.
const maxHeaderBytes = MaxHeader - 4096

// NewServer returns a server for h with our limits: MaxHeader, 10 s to read the headers, 30 s
// to read the body, writeTimeout to answer, 2 min idle; net/http's own errors go to log as
// warnings.
func NewServer(h http.Handler, writeTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Healthz answers liveness: the process serves HTTP.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

// NotReady answers a readiness probe that failed, saying why.
func NotReady(w http.ResponseWriter, reason string) {
	WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
}

// Ready answers a readiness probe that passed.
func Ready(w http.ResponseWriter) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Serve binds addr (env names the variable it came from, for the error) and serves srv on it in
// the background, over TLS when certFile is set (with keyFile). It returns once the address is
// bound, srv.Addr set to it (the port chosen, for ":0"); the channel receives what Serve
// returned: http.ErrServerClosed after a Shutdown or Close, anything else if it failed.
func Serve(srv *http.Server, addr, env, certFile, keyFile string) (<-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	srv.Addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() {
		if certFile != "" {
			done <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	return done, nil
}
