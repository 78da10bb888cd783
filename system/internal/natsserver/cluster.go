package natsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
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
	ServerName           string
	addr, route, monitor string
}

// StartCluster starts n nodes named n1…nn in the cluster "boletas", each in dir/<name> with a
// configuration of its own (anyone may connect, routes unauthenticated) and the extra lines of
// the jetstream block given in jetstream (e.g. "sync_interval: always"), and waits until every
// node accepts connections, the cluster has elected its meta leader and every node is healthy.
func StartCluster(ctx context.Context, bin, dir string, n int, jetstream string) (*Cluster, error) {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("n%d", i+1))
	}
	return retryPorts(func() (*Cluster, error) {
		c, err := newCluster(bin, dir, names)
		if err != nil {
			return nil, err
		}
		routes := strings.Join(c.routeURLs(""), ", ")
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
`, nd.ServerName, nd.addr, nd.monitor, filepath.Join(dir, nd.ServerName, "jetstream"), jetstream, nd.route, routes)
			conf := filepath.Join(dir, nd.ServerName, "nats.conf")
			if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
				return nil, err
			}
			nd.Args = []string{"-c", conf}
		}
		return c, c.start(ctx)
	})
}

// StartShippedCluster starts bin with the cluster configuration shipped in deploy: one node per
// deploy/nats/cluster/nats-N.conf, named by its file as its server_name names it, with the
// permissions.conf they include. Each configuration is copied into dir/conf/cluster with the
// lines that name the container's addresses and store changed and nothing else: clients,
// routes and monitoring on free loopback ports, JetStream stored in dir/<name>/jetstream. (Not
// with nats-server's flags: --cluster would also drop the routes' authorization, and the
// monitoring would stay on 0.0.0.0.) env, added to every node's environment, holds the
// passwords the configuration reads, NATS_ROUTE_PASSWORD among them; NATS_ROUTES is set as
// docker-compose.yml sets it, the whole route list with that password.
func StartShippedCluster(ctx context.Context, bin, dir, deploy string, env []string) (*Cluster, error) {
	var password string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "NATS_ROUTE_PASSWORD="); ok {
			password = v
		}
	}
	if password == "" {
		return nil, errors.New("env sets no NATS_ROUTE_PASSWORD")
	}
	files, err := filepath.Glob(filepath.Join(deploy, "cluster", "nats-*.conf"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("%s/cluster: no nats-*.conf (%v)", deploy, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".conf"))
	}
	if err := copyPermissions(deploy, dir); err != nil {
		return nil, err
	}
	return retryPorts(func() (*Cluster, error) {
		c, err := newCluster(bin, dir, names)
		if err != nil {
			return nil, err
		}
		nodeEnv := append(slices.Clip(env), "NATS_ROUTES=["+strings.Join(c.routeURLs("route:"+password+"@"), ", ")+"]")
		for i, nd := range c.Nodes {
			replace := loopback(nd.addr, nd.monitor, filepath.Join(dir, nd.ServerName, "jetstream"))
			// Indented: the cluster block's listen, not the clients'.
			replace["  listen: 0.0.0.0:6222\n"] = fmt.Sprintf("  listen: %q\n", nd.route)
			conf, err := copyShipped(files[i], filepath.Join(dir, "conf", "cluster"), replace)
			if err != nil {
				return nil, err
			}
			nd.Args, nd.Env = []string{"-c", conf}, nodeEnv
		}
		return c, c.start(ctx)
	})
}

// retryPorts calls start until it does not fail because a port was taken between choosing it
// and binding it: then every port is chosen again.
func retryPorts(start func() (*Cluster, error)) (*Cluster, error) {
	var err error
	for range 5 {
		var c *Cluster
		if c, err = start(); err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
	}
	return nil, err
}

// newCluster gives each named node free loopback ports (clients, routes, monitoring) and its
// directory dir/<name>, where it logs; the caller sets how each is started.
func newCluster(bin, dir string, names []string) (*Cluster, error) {
	c := &Cluster{}
	for _, name := range names {
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
		c.Nodes = append(c.Nodes, nd)
	}
	return c, nil
}

// routeURLs are the nodes' route URLs, each with userinfo ("user:password@", or "").
func (c *Cluster) routeURLs(userinfo string) []string {
	var urls []string
	for _, nd := range c.Nodes {
		urls = append(urls, "nats-route://"+userinfo+nd.route)
	}
	return urls
}

// start starts every node and waits until each accepts connections, the cluster has elected its
// meta leader and every node is healthy; on failure it kills them all.
func (c *Cluster) start(ctx context.Context) error {
	err := func() error {
		for _, nd := range c.Nodes {
			if err := nd.Restart(ctx); err != nil {
				return err
			}
		}
		if _, err := c.MetaLeader(ctx, within); err != nil {
			return err
		}
		// Every node in contact with the meta leader, or a request reaching a node that is not
		// yet goes unanswered.
		return c.WaitHealthy(ctx, within)
	}()
	if err != nil {
		c.Kill()
	}
	return err
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
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, nd.Monitor()+"/jsz", nil)
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

// Route is the address ("127.0.0.1:port") where the node accepts route connections.
func (nd *Node) Route() string { return nd.route }

// Monitor is the base URL of the node's monitoring endpoints (/routez, /jsz, /healthz).
func (nd *Node) Monitor() string { return "http://" + nd.monitor }

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
		if err := ready.HTTP(ctx, nd.Monitor()+"/healthz", within); err != nil {
			return fmt.Errorf("%s: %w", nd.ServerName, err)
		}
	}
	return nil
}
