package ingest

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers the profiler on http.DefaultServeMux, used only here
	"time"
)

// servePprof serves Go's profiler on its own listener (PPROF_ADDR), never on the service's port:
// the service's own routes live on a mux of their own.
func servePprof(addr string, log *slog.Logger) {
	// No WriteTimeout: a CPU profile takes its ?seconds= (30 by default) to write.
	srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes: maxHeaderBytes}
	log.Info("pprof listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil {
		log.Warn("pprof server", "err", err)
	}
}
