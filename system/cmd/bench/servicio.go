package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotelpe/boletas/system/internal/process"
)

// servicio is one of the project's binaries running as a child process, so that its peak
// resident memory is its own.
type servicio struct {
	process.Child
	addr string
}

// arrancar starts bin/nombre (ingest or reconciler) on a free port and waits until it is ready.
func arrancar(ctx context.Context, e entorno, nombre string, env []string) (*servicio, error) {
	addrVar := map[string]string{"ingest": "INGEST_ADDR", "reconciler": "RECONCILER_ADDR"}[nombre]
	s := &servicio{Child: process.Child{Name: nombre, Path: filepath.Join(e.bin, nombre),
		Env: append(env, "LOG_LEVEL=warn"), Log: filepath.Join(e.logs, nombre+".log")}}
	var err error
	if s.addr, err = s.StartOnFreePort(ctx, addrVar, time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}

// parar stops the service gracefully and returns its peak resident memory in MiB.
func (s *servicio) parar() (float64, error) {
	hwm, err := picoRSS(s.Pid())
	if err != nil {
		return 0, err
	}
	s.Stop(30 * time.Second)
	return hwm, nil
}

// picoRSS reads the process's peak resident set (VmHWM) from /proc. Not rusage: after fork and
// exec, Linux reports in ru_maxrss the parent's size at the fork if it was larger, and the
// bench process holds millions of latency samples.
func picoRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// vigilarRSS samples picoRSS until done is closed and returns the largest value read.
func vigilarRSS(pid int, done <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		var peak float64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := picoRSS(pid); err == nil && v > peak {
				peak = v
			}
			select {
			case <-done:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}
