package freeport_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/hotelpe/boletas/system/internal/freeport"
)

func TestTryMovesOnWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var tried []string
	addr, err := freeport.Try(func(addr string) error {
		if len(tried) == 0 {
			addr = taken.Addr().String() // as if someone took the proposed port first
		}
		tried = append(tried, addr)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		return l.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tried) != 2 || addr != tried[1] || addr == taken.Addr().String() {
		t.Errorf("tried %v, got %s", tried, addr)
	}
}

func TestTryReturnsOtherErrors(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	if _, err := freeport.Try(func(string) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err %v after %d calls, want boom after 1", err, calls)
	}
}

func TestTryGivesUp(t *testing.T) {
	calls := 0
	_, err := freeport.Try(func(string) error { calls++; return syscall.EADDRINUSE })
	if !errors.Is(err, syscall.EADDRINUSE) || calls < 2 {
		t.Errorf("err %v after %d calls", err, calls)
	}
}

func TestInUse(t *testing.T) {
	exited := errors.New("exit status 1")
	for _, tt := range []struct {
		name   string
		err    error
		output string
		inUse  bool
	}{
		{"go", exited, "listen tcp 127.0.0.1:8080: bind: address already in use", true},
		{"nats-server", exited, `Error listening on port: 127.0.0.1:4222, "address already in use"`, true},
		{"postgres", exited, `LOG:  could not bind IPv4 address "127.0.0.1": Address already in use`, true},
		{"other failure", exited, "DATABASE_URL is required", false},
		{"no failure", nil, "address already in use", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := freeport.InUse(tt.err, tt.output)
			if got := errors.Is(err, syscall.EADDRINUSE); got != tt.inUse {
				t.Errorf("InUse(%v, %q) = %v: in use %v, want %v", tt.err, tt.output, err, got, tt.inUse)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("InUse lost the error: %v", err)
			}
		})
	}
}
