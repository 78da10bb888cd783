// Package natsserver runs a nats-server of a tool's own (bin/nats-server, which `make bench` and
// `make chaos` install), with JetStream stored in a directory of the tool's, on a free loopback
// port: a server the tool may kill and restart without touching the machine's.
package natsserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// Version is the nats-server that `make bin/nats-server` installs and Installed builds.
const Version = "v2.15.2"

// Installed is root/bin/nats-server, built with `go install` (as `make bin/nats-server` does)
// when it is not there yet.
func Installed(ctx context.Context, root string) (string, error) {
	bin := filepath.Join(root, "bin")
	path := filepath.Join(bin, "nats-server")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/nats-io/nats-server/v2@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install nats-server %s: %w\n%s", Version, err, out)
	}
	return path, nil
}

// StartShipped starts bin with the configuration shipped in deploy (deploy/nats: nats-server.conf
// and the permissions.conf it includes), copied into dir/conf with one change: JetStream stored
// in dir/jetstream instead of the container's /data (nats-server will not let -sd override a
// configured store_dir). Flags put clients on a free loopback port and monitoring on another;
// the log goes to dir/nats.log. env is added to the server's environment: the passwords the
// configuration reads.
func StartShipped(ctx context.Context, bin, dir, deploy string, env []string) (*Server, error) {
	conf, err := shippedCopy(deploy, dir)
	if err != nil {
		return nil, err
	}
	s := &Server{Child: process.Child{Name: "nats-server", Path: bin, Log: filepath.Join(dir, "nats.log"), Env: env}}
	s.addr, err = freeport.Try(func(addr string) error {
		s.addr = addr
		host, port, _ := net.SplitHostPort(addr)
		monitor, err := freeport.Candidate()
		if err != nil {
			return err
		}
		_, mport, _ := net.SplitHostPort(monitor)
		s.Args = []string{"-c", conf, "-a", host, "-p", port, "-m", mport}
		return s.Restart(ctx)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// shippedCopy copies deploy's nats-server.conf, its store_dir changed to dir/jetstream, and
// permissions.conf into dir/conf, and returns the configuration's path there.
func shippedCopy(deploy, dir string) (string, error) {
	conf, err := os.ReadFile(filepath.Join(deploy, "nats-server.conf"))
	if err != nil {
		return "", err
	}
	perms, err := os.ReadFile(filepath.Join(deploy, "permissions.conf"))
	if err != nil {
		return "", err
	}
	const store = "store_dir: /data\n"
	if strings.Count(string(conf), store) != 1 {
		return "", fmt.Errorf("%s/nats-server.conf: want one %q line", deploy, store)
	}
	conf = []byte(strings.Replace(string(conf), store, fmt.Sprintf("store_dir: %q\n", filepath.Join(dir, "jetstream")), 1))
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		return "", err
	}
	for name, b := range map[string][]byte{"nats-server.conf": conf, "permissions.conf": perms} {
		if err := os.WriteFile(filepath.Join(dir, "conf", name), b, 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "conf", "nats-server.conf"), nil
}
