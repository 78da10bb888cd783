package natsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
)

// Cluster is a JetStream cluster of nats-server processes on loopback ports, each node with
// its own store directory, like deploy/nats/cluster/ describes for three machines.
type Cluster struct {
	Nodes []*Node
}

// Node is one member of a Cluster. Kill, Stop, Pid come from its process.Child; Restart starts
// it again on the same ports and store.
type Node struct {
	process.Child
	ServerName                 string
	addr, route, monitor, conf string
}

// StartCluster starts n nodes named n1…nn in the cluster "boletas", each in dir/<name> with
// the extra lines of the jetstream block given in jetstream (e.g. "sync_interval: always"), and
// waits until every node accepts connections, the cluster has elected its meta leader and every
// node is healthy.
func StartCluster(ctx context.Context, bin, dir string, n int, jetstream string) (*Cluster, error) {
	var err error
	for range 5 { // a port taken between choosing and binding: choose them all again
		var c *Cluster
		if c, err = startCluster(ctx, bin, dir, n, jetstream); err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	return nil, err
}

func startCluster(ctx context.Context, bin, dir string, n int, jetstream string) (*Cluster, error) {
	c := &Cluster{}
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		nd := &Node{ServerName: name, Child: process.Child{Name: "nats-server " + name, Path: bin,
			Log: filepath.Join(dir, name, "nats.log")}}
		for _, p := range []*string{&nd.addr, &nd.route, &nd.monitor} {
			a, err := freeport.Candidate()
			if err != nil {
				return nil, err
			}
			*p = a
		}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return nil, err
		}
		nd.conf = filepath.Join(dir, name, "nats.conf")
		c.Nodes = append(c.Nodes, nd)
	}
	var routes []string
	for _, nd := range c.Nodes {
		routes = append(routes, fmt.Sprintf("%q", "nats-route://"+nd.route))
	}
	for _, nd := range c.Nodes {
		cfg := fmt.Sprintf(`server_name: %q
listen: %q
http: %q
jetstream {
  store_dir: %q
  %s
}
cluster {
  name: "boletas"
  listen: %q
  routes: [%s]
}
`, nd.ServerName, nd.addr, nd.monitor, filepath.Join(filepath.Dir(nd.conf), "jetstream"), jetstream, nd.route, strings.Join(routes, ", "))
		if err := os.WriteFile(nd.conf, []byte(cfg), 0o644); err != nil {
			c.Kill()
			return nil, err
		}
		nd.Args = []string{"-c", nd.conf}
		if err := nd.Restart(ctx); err != nil {
			c.Kill()
			return nil, err
		}
	}
	if _, err := c.MetaLeader(ctx, within); err != nil {
		c.Kill()
		return nil, err
	}
	// Every node in contact with the meta leader, or a request reaching a node that is not yet
	// goes unanswered.
	if err := c.WaitHealthy(ctx, within); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// URL lists every node, the way NATS_URL does on a cluster.
func (c *Cluster) URL() string {
	var urls []string
	for _, nd := range c.Nodes {
		urls = append(urls, nd.URL())
	}
	return strings.Join(urls, ",")
}

// Kill kills every node.
func (c *Cluster) Kill() {
	for _, nd := range c.Nodes {
		nd.Kill()
	}
}

// Node is the node of that server name, nil if none.
func (c *Cluster) Node(name string) *Node {
	for _, nd := range c.Nodes {
		if nd.ServerName == name {
			return nd
		}
	}
	return nil
}

// MetaLeader is the node that leads the JetStream meta group (the one that creates streams and
// places them), as a running node's monitoring endpoint /jsz reports it; it waits up to within
// for one to be elected.
func (c *Cluster) MetaLeader(ctx context.Context, within time.Duration) (*Node, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var last error
	for {
		for _, nd := range c.Nodes {
			if nd.Pid() == 0 {
				continue
			}
			name, err := nd.metaLeader(ctx)
			if err != nil {
				last = err
				continue
			}
			if l := c.Node(name); l != nil && l.Pid() != 0 {
				return l, nil
			}
			last = fmt.Errorf("%s names %q as meta leader", nd.ServerName, name)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no JetStream meta leader within %v: %v", within, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (nd *Node) metaLeader(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+nd.monitor+"/jsz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var jsz struct {
		Meta *struct {
			Leader string `json:"leader"`
		} `json:"meta_cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		return "", fmt.Errorf("%s /jsz: %w", nd.ServerName, err)
	}
	if jsz.Meta == nil || jsz.Meta.Leader == "" {
		return "", fmt.Errorf("%s: no meta leader yet", nd.ServerName)
	}
	return jsz.Meta.Leader, nil
}

// URL is where clients connect to this node.
func (nd *Node) URL() string { return "nats://" + nd.addr }

// Restart starts the node again (after Kill or Stop) on the same ports and store, and waits until
// it accepts connections.
func (nd *Node) Restart(ctx context.Context) error {
	return nd.StartReady(ctx, func(ctx context.Context) error { return ready.TCP(ctx, nd.addr, within) })
}

// Signal sends sig (SIGSTOP, SIGCONT) to the running node.
func (nd *Node) Signal(sig syscall.Signal) error {
	pid := nd.Pid()
	if pid == 0 {
		return fmt.Errorf("%s is not running", nd.ServerName)
	}
	return syscall.Kill(pid, sig)
}

// WaitHealthy waits, up to within, until every running node's /healthz answers 200: JetStream is
// up there and its copies of every stream and consumer are current. Kill the next node only
// then, or the cluster may lose the quorum of a stream.
func (c *Cluster) WaitHealthy(ctx context.Context, within time.Duration) error {
	for _, nd := range c.Nodes {
		if nd.Pid() == 0 {
			continue
		}
		if err := ready.HTTP(ctx, "http://"+nd.monitor+"/healthz", within); err != nil {
			return fmt.Errorf("%s: %w", nd.ServerName, err)
		}
	}
	return nil
}
