// Package natsserver runs a nats-server of a tool's own (bin/nats-server, which `make bench` and
// `make chaos` install), with JetStream stored in a directory of the tool's, on a free loopback
// port: a server the tool may kill and restart without touching the machine's.
package natsserver

import (
	"context"
	"fmt"
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
	return StartWith(ctx, bin, dir, jetstream, "")
}

// StartWith is Start with more configuration: the lines of conf (a tls block, an authorization
// block, an operator and its resolver) are appended to the listen address and JetStream's.
func StartWith(ctx context.Context, bin, dir, jetstream, conf string) (*Server, error) {
	s := &Server{Child: process.Child{Name: "nats-server", Path: bin, Log: filepath.Join(dir, "nats.log")}}
	file := filepath.Join(dir, "nats.conf")
	var err error
	s.addr, err = freeport.Try(func(addr string) error {
		s.addr = addr
		cfg := fmt.Sprintf("listen: %q\njetstream {\n  store_dir: %q\n  %s\n}\n%s", addr, filepath.Join(dir, "jetstream"), jetstream, conf)
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			return err
		}
		s.Args = []string{"-c", file}
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
// and the permissions.conf it includes), copied into dir/conf with the lines that name the
// container's addresses and store changed and nothing else: clients and monitoring on free
// loopback ports (the shipped 0.0.0.0 would stay in force under nats-server's flags for the
// monitoring port), JetStream stored in dir/jetstream instead of /data. The log goes to
// dir/nats.log. env is added to the server's environment: the passwords the configuration reads.
func StartShipped(ctx context.Context, bin, dir, deploy string, env []string) (*Server, error) {
	if err := copyPermissions(deploy, dir); err != nil {
		return nil, err
	}
	s := &Server{Child: process.Child{Name: "nats-server", Path: bin, Log: filepath.Join(dir, "nats.log"), Env: env}}
	var err error
	s.addr, err = freeport.Try(func(addr string) error {
		s.addr = addr
		monitor, err := freeport.Candidate()
		if err != nil {
			return err
		}
		conf, err := copyShipped(filepath.Join(deploy, "nats-server.conf"), filepath.Join(dir, "conf"), loopback(addr, monitor, filepath.Join(dir, "jetstream")))
		if err != nil {
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

// loopback are the changes a shipped configuration needs to run here: its lines for the client
// and monitoring addresses and the store, each with its new value.
func loopback(addr, monitor, store string) map[string]string {
	return map[string]string{
		"listen: 0.0.0.0:4222\n": fmt.Sprintf("listen: %q\n", addr),
		"http: 0.0.0.0:8222\n":   fmt.Sprintf("http: %q\n", monitor),
		"store_dir: /data\n":     fmt.Sprintf("store_dir: %q\n", store),
	}
}

// copyShipped copies the shipped configuration file into the directory to (beside a copy of
// permissions.conf where the file includes it, see copyPermissions) with each line of replace
// replaced by its value, and returns the copy's path. A line that is not in the file exactly once
// is an error: the shipped configuration changed under the tool.
func copyShipped(file, to string, replace map[string]string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	conf := string(b)
	for old, new := range replace {
		if n := strings.Count(conf, old); n != 1 {
			return "", fmt.Errorf("%s: %d lines %q, want one", file, n, strings.TrimSpace(old))
		}
		conf = strings.Replace(conf, old, new, 1)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(to, filepath.Base(file))
	return path, os.WriteFile(path, []byte(conf), 0o644)
}

// copyPermissions copies deploy's permissions.conf into dir/conf, where the copies of the
// configurations find it: nats-server.conf in dir/conf, the cluster's in dir/conf/cluster.
func copyPermissions(deploy, dir string) error {
	perms, err := os.ReadFile(filepath.Join(deploy, "permissions.conf"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "conf", "permissions.conf"), perms, 0o644)
}
