package httpapi

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers the profiler on http.DefaultServeMux, served only here
	"net/netip"
	"runtime"
	"sync"
	"time"
)

var sinPerfil sync.Once

// DisableMemProfile stops the runtime's sampling of allocations for the heap profile, for a
// service without PPROF_ADDR: nothing can read that profile (the variable is read at start), yet
// the runtime records one allocation per 512 KiB, and each new call stack it records touches a
// page of a 1.4 MiB hash table, so a busy process ends up holding all of it (docs/performance.md
// has what it cost the reconciler). Set once per process, as runtime.MemProfileRate asks.
func DisableMemProfile() {
	sinPerfil.Do(func() { runtime.MemProfileRate = 0 })
}

// StartPprof is what a service does about the profiler at start: with an addr (PPROF_ADDR), it
// serves it in the background; without one, it turns off the heap profile's sampling, which
// nothing could read.
func StartPprof(addr string, log *slog.Logger) {
	if addr == "" {
		DisableMemProfile()
		return
	}
	go ServePprof(addr, log)
}

// ServePprof serves Go's profiler on its own listener (PPROF_ADDR), never on a service's port:
// the services' routes live on muxes of their own.
func ServePprof(addr string, log *slog.Logger) {
	// No WriteTimeout: a CPU profile takes its ?seconds= (30 by default) to write.
	srv := &http.Server{Addr: addr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes: maxHeaderBytes}
	log.Info("pprof listening", "addr", addr)
	if err := srv.ListenAndServe(); err != nil {
		log.Warn("pprof server", "err", err)
	}
}

// CheckPprofAddr refuses a profiler that other machines can reach, unless PPROF_ALLOW_REMOTE
// says so: net/http/pprof has no authentication, and a heap profile shows the process's memory.
func CheckPprofAddr(addr string, allowRemote bool) error {
	if addr == "" || allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("PPROF_ADDR: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host == "localhost" || err == nil && ip.IsLoopback() {
		return nil
	}
	where := "an address other machines can reach"
	if host == "" {
		where = "every interface"
	}
	return fmt.Errorf("PPROF_ADDR %s listens on %s and the profiler has no authentication: "+
		"use a loopback address such as 127.0.0.1:6060, or set PPROF_ALLOW_REMOTE=true", addr, where)
}
