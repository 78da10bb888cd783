package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// servicio is one of the project's binaries running as a child process, so that its peak
// resident memory is its own (rusage after it exits).
type servicio struct {
	cmd  *exec.Cmd
	logs bytes.Buffer
	addr string
}

func arrancar(ctx context.Context, e entorno, nombre string, env []string, readyPath string) (*servicio, error) {
	s := &servicio{addr: freeAddr()}
	addrVar := map[string]string{"ingest": "INGEST_ADDR", "reconciler": "RECONCILER_ADDR"}[nombre]
	s.cmd = exec.Command(filepath.Join(e.bin, nombre))
	s.cmd.Env = append(append(os.Environ(), env...), addrVar+"="+s.addr, "LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", nombre, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + s.addr + readyPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	return nil, fmt.Errorf("%s not ready:\n%s", nombre, s.logs.String())
}

// parar stops the service gracefully and returns its peak resident memory in MiB.
func (s *servicio) parar() (float64, error) {
	hwm, err := picoRSS(s.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
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

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}
