// Package process runs the project's binaries (and nats-server) as child processes of a tool:
// started with an environment and a log file, waited for until ready, stopped gracefully or
// killed on purpose, and started again.
package process

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/ready"
)

// Child is one child process. Its fields describe what to run; Start may be called again after
// the process stopped, with the same fields.
type Child struct {
	Name string   // for messages
	Path string   // the binary
	Args []string // its arguments
	Env  []string // added to this process's environment
	Log  string   // file the output is appended to, after a line that marks every start

	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited and the log is closed
	exit   error         // how it exited, once done is closed
	offset int64         // where this start's output begins in Log
}

// Start starts the process and returns without waiting for it to be ready.
func (c *Child) Start() error {
	f, err := os.OpenFile(c.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if c.offset, err = f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return err
	}
	fmt.Fprintf(f, "\n--- start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", c.Name, err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	go func() {
		c.exit = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return nil
}

// StartReady starts the process and waits until ready passes. If the process exits first, the
// error says how, with the end of its log, and matches syscall.EADDRINUSE when the process could
// not listen because its address was taken (see freeport.Try). If ready fails, the process is
// killed.
func (c *Child) StartReady(ctx context.Context, ready func(context.Context) error) error {
	if err := c.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := c.done
	go func() {
		select {
		case <-done: // no use waiting for a process that exited
			cancel()
		case <-ctx.Done():
		}
	}()
	err := ready(ctx)
	select {
	case <-done:
		c.cmd = nil
		out := c.output()
		return freeport.InUse(fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", c.Name, c.exit, c.Log, tail(out)), out)
	default:
	}
	if err != nil {
		c.Kill()
		return fmt.Errorf("%s: %w; log %s:\n%s", c.Name, err, c.Log, tail(c.output()))
	}
	return nil
}

// StartOnFreePort starts a service (ingest, the reconciler) listening on a free loopback
// address, given to it in the environment variable addrVar, waits until its /readyz answers 200
// (for at most within) and returns the address. Started again, it keeps that address.
func (c *Child) StartOnFreePort(ctx context.Context, addrVar string, within time.Duration) (string, error) {
	env := slices.Clip(c.Env)
	return freeport.Try(func(addr string) error {
		c.Env = append(env, addrVar+"="+addr)
		return c.StartReady(ctx, func(ctx context.Context) error {
			return ready.HTTP(ctx, "http://"+addr+"/readyz", within)
		})
	})
}

// Pid is the running process's ID, 0 when it is not running.
func (c *Child) Pid() int {
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to die.
func (c *Child) Kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	c.cmd = nil
}

// Stop sends SIGTERM, so the process shuts down gracefully, and waits; SIGKILL after grace.
func (c *Child) Stop(grace time.Duration) {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		c.cmd = nil
	case <-time.After(grace):
		c.Kill()
	}
}

// output is what the process wrote to its log since it was last started.
func (c *Child) output() string {
	f, err := os.Open(c.Log)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, c.offset, 1<<40))
	return string(b)
}

// tail is the end of a log, enough to show why a process failed.
func tail(s string) string {
	const limit = 4 << 10
	if len(s) > limit {
		return "…" + s[len(s)-limit:]
	}
	return s
}
