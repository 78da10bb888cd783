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
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	ru, ok := s.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("no rusage")
	}
	return float64(ru.Maxrss) / 1024, nil
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}
