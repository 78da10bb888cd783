// Package freeport starts a server on a loopback port nobody else holds.
//
// The usual trick, listening on port 0, reading the port the kernel chose and closing the
// listener before handing the port to a child process, has a race: between the close and the
// child's bind, anything else on the machine (a parallel test, an outgoing connection given that
// ephemeral port) may take it, and the child fails to start. Letting the child bind port 0 and
// reading its address back would avoid the race, but the services report their address only in
// an info-level log line that the tools silence, and the chaos suite restarts NATS, PostgreSQL
// and the reconcilers on the address their clients already hold, which must not move. So the
// kernel still proposes the port, and Try starts again on a fresh one whenever the start failed
// because the address was taken.
package freeport

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// attempts bounds the retries: a port taken ten times in a row is not a race any more.
const attempts = 10

// Try calls start with a free loopback address ("127.0.0.1:port") until start succeeds, and
// returns that address. A start that fails with an error matching syscall.EADDRINUSE (see InUse)
// is tried again on another port; any other error is returned as it is.
func Try(start func(addr string) error) (string, error) {
	var err error
	for range attempts {
		var addr string
		if addr, err = Candidate(); err != nil {
			return "", err
		}
		if err = start(addr); !errors.Is(err, syscall.EADDRINUSE) {
			return addr, err
		}
	}
	return "", fmt.Errorf("%d ports in a row were taken: %w", attempts, err)
}

// Candidate asks the kernel for a loopback address whose port is free at this instant. Use it
// inside Try's start for a second address the same start binds: a port taken meanwhile fails
// the start with EADDRINUSE, and Try starts again with fresh ones.
func Candidate() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// InUse returns err, marked as syscall.EADDRINUSE when output (what a child process printed
// before it failed) says its address was already in use, so that Try tries another port. Go
// programs, nats-server and PostgreSQL all say "address already in use", in some capitalization.
func InUse(err error, output string) error {
	if err == nil || !strings.Contains(strings.ToLower(output), "address already in use") {
		return err
	}
	return fmt.Errorf("%w: %w", syscall.EADDRINUSE, err)
}
