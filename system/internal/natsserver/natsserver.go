// Package natsserver runs a nats-server of a tool's own (bin/nats-server, which `make bench` and
// `make chaos` install), with JetStream stored in a directory of the tool's, on a free loopback
// port: a server the tool may kill and restart without touching the machine's.
package natsserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
)

// within bounds how long a starting server may take to accept connections.
const within = 30 * time.Second

// Server is a running nats-server. Kill and Stop come from its process.Child.
type Server struct {
	process.Child
	addr string
}

// Start writes dir/nats.conf, with JetStream in dir/jetstream and the extra lines of the
// jetstream block given in jetstream (e.g. "sync_interval: always", the setting this system
// ships with in deploy/nats/nats-server.conf), starts bin on a free port with it, logging to
// dir/nats.log, and waits until it accepts connections.
func Start(ctx context.Context, bin, dir, jetstream string) (*Server, error) {
	s := &Server{Child: process.Child{Name: "nats-server", Path: bin, Log: filepath.Join(dir, "nats.log")}}
	conf := filepath.Join(dir, "nats.conf")
	var err error
	s.addr, err = freeport.Try(func(addr string) error {
		s.addr = addr
		cfg := fmt.Sprintf("listen: %q\njetstream {\n  store_dir: %q\n  %s\n}\n", addr, filepath.Join(dir, "jetstream"), jetstream)
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return err
		}
		s.Args = []string{"-c", conf}
		return s.Restart(ctx)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// URL is where clients connect.
func (s *Server) URL() string { return "nats://" + s.addr }

// Restart starts the server again (after Kill or Stop) on the same address and store, and waits
// until it accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	return s.StartReady(ctx, func(ctx context.Context) error { return ready.TCP(ctx, s.addr, within) })
}
