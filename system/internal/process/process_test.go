package process_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/hotelpe/boletas/system/testkit"
)

// The test binary is also the child: CHILD_ROLE says what it does.
func TestMain(m *testing.M) {
	switch os.Getenv("CHILD_ROLE") {
	case "service": // a service that listens on SERVICE_ADDR and is ready at once
		http.HandleFunc("GET /readyz", func(http.ResponseWriter, *http.Request) {})
		fmt.Println(http.ListenAndServe(os.Getenv("SERVICE_ADDR"), nil))
		os.Exit(1)
	case "stubborn": // ignores SIGTERM
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring SIGTERM")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(t *testing.T, role string) *process.Child {
	t.Helper()
	c := &process.Child{Name: role, Path: os.Args[0], Env: []string{"CHILD_ROLE=" + role}, Log: filepath.Join(t.TempDir(), role+".log")}
	t.Cleanup(c.Kill)
	return c
}

func TestStartOnFreePortRestartsOnTheSameAddress(t *testing.T) {
	c := child(t, "service")
	ctx := context.Background()
	addr, err := c.StartOnFreePort(ctx, "SERVICE_ADDR", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pid := c.Pid()
	c.Kill()
	if c.Pid() != 0 {
		t.Error("killed, but still has a pid")
	}
	if err := c.StartReady(ctx, func(ctx context.Context) error { return ready.HTTP(ctx, "http://"+addr+"/readyz", time.Minute) }); err != nil {
		t.Fatal(err)
	}
	if c.Pid() == pid {
		t.Error("started again with the same pid")
	}
	// A second copy on the same address exits, and says why. (Its readiness must not be asked
	// of the address: the first copy would answer.)
	other := child(t, "service")
	other.Env = append(other.Env, "SERVICE_ADDR="+addr)
	err = other.StartReady(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a second copy on %s: err %v, want address in use", addr, err)
	}
	c.Stop(time.Minute)
	log, _ := os.ReadFile(c.Log)
	if n := strings.Count(string(log), "--- start"); n != 2 {
		t.Errorf("%d starts in the log, want 2:\n%s", n, log)
	}
}

func TestStartReadyReportsAnEarlyExit(t *testing.T) {
	c := &process.Child{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "echo no config; exit 3"}, Log: filepath.Join(t.TempDir(), "sh.log")}
	err := c.StartReady(context.Background(), func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if err == nil || errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "no config") {
		t.Errorf("err = %v, want the exit with the log", err)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	c := child(t, "stubborn")
	if err := c.StartReady(context.Background(), func(context.Context) error {
		return testkit.Poll(time.Minute, func() error {
			if b, _ := os.ReadFile(c.Log); !strings.Contains(string(b), "ignoring SIGTERM") {
				return errors.New("never started")
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	c.Stop(100 * time.Millisecond)
	if c.Pid() != 0 {
		t.Error("still running after Stop")
	}
}
