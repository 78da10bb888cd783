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

// service is one of the project's binaries running as a child process, so that its peak
// resident memory is its own.
type service struct {
	process.Child
	addr string
}

// startService starts bin/name (ingest or reconciler) on a free port and waits until it is ready.
func startService(ctx context.Context, e environment, name string, env []string) (*service, error) {
	addrVar := map[string]string{"ingest": "INGEST_ADDR", "reconciler": "RECONCILER_ADDR"}[name]
	s := &service{Child: process.Child{Name: name, Path: filepath.Join(e.bin, name),
		Env: append(append([]string{"METRICS_ADDR=127.0.0.1:0"}, env...), "LOG_LEVEL=warn"), Log: filepath.Join(e.logs, name+".log")}}
	var err error
	if s.addr, err = s.StartOnFreePort(ctx, addrVar, time.Minute); err != nil {
		return nil, err
	}
	return s, nil
}

// stop stops the service gracefully and returns its peak resident memory in MiB.
func (s *service) stop() (float64, error) {
	hwm, err := peakRSS(s.Pid())
	if err != nil {
		return 0, err
	}
	s.Stop(30 * time.Second)
	return hwm, nil
}

// peakRSS reads the process's peak resident set (VmHWM) from /proc. Not rusage: after fork and
// exec, Linux reports in ru_maxrss the parent's size at the fork if it was larger, and the
// bench process holds millions of latency samples.
func peakRSS(pid int) (float64, error) { return statusMiB(pid, "VmHWM:") }

// rss is the process's resident memory now, in MiB.
func rss(pid int) (float64, error) { return statusMiB(pid, "VmRSS:") }

func statusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kb float64
			if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// watchRSS samples picoRSS until done is closed and returns the largest value read.
func watchRSS(pid int, done <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		var peak float64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := peakRSS(pid); err == nil && v > peak {
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
