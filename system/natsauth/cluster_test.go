package natsauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/internal/process"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go"
)

// TestShippedClusterFormsAndRefusesStrangers runs the three nodes of deploy/nats/cluster/ as
// shipped, every password and the route list (NATS_ROUTES, an array literal) given by the
// environment as docker-compose.yml gives them: the nodes route to each other and elect a meta
// leader, the reconciler's identity creates the R3 streams and ingest's stores a webhook in
// them, no node lets an anonymous client in, and no server joins the cluster without the route
// password.
func TestShippedClusterFormsAndRefusesStrangers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := &shipped{passwords: map[string]string{}}
	var env []string
	for role, v := range roles {
		s.passwords[role] = password(t)
		env = append(env, v+"="+s.passwords[role])
	}
	routePassword := password(t)
	env = append(env, "NATS_ROUTE_PASSWORD="+routePassword)
	c, err := natsserver.StartShippedCluster(ctx, serverBinary(t), t.TempDir(), filepath.Join(root(t), "deploy", "nats"), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	s.url = c.URL()
	var names []string
	for _, nd := range c.Nodes {
		names = append(names, nd.ServerName)
	}
	if strings.Join(names, " ") != "nats-1 nats-2 nats-3" {
		t.Fatalf("nodes %q, want nats-1 nats-2 nats-3", names)
	}

	t.Run("every node routes to the other two", func(t *testing.T) {
		for _, nd := range c.Nodes {
			testkit.Eventually(t, time.Minute, nd.ServerName+" routes to the other nodes", func() bool {
				remotes, err := routedTo(ctx, nd.Monitor())
				return err == nil && len(remotes) == 2 && !remotes[nd.ServerName]
			})
		}
	})

	t.Run("the reconciler creates the R3 streams and ingest stores a webhook", func(t *testing.T) {
		rec := s.connect(t, "reconciler", "reconciler")
		opts := stream.Options{Replicas: 3, DuplicateWindow: 10 * time.Minute, EventsDuplicateWindow: time.Hour,
			Consumer: "reconciler", AckWait: 10 * time.Second, MaxDeliver: -1, MaxAckPending: 5000, MaxBytes: -1}
		// As the reconciler does on start: a request the cluster does not answer yet (a node
		// still catching up with the meta leader on a loaded machine) is asked again.
		for {
			actx, acancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = stream.Declare(actx, rec.js, contracts.Topologia{}, opts)
			acancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the reconciler prepares the streams: %v", err)
			}
			t.Logf("the reconciler prepares the streams: %v; again", err)
		}
		s.connect(t, "ingest", "ingest").mustStore(t, "nubefact.notificaciones.webhook", "natsauth-cluster-1")
		st, err := rec.js.Stream(ctx, contracts.Topologia{}.StreamNotificaciones())
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 || info.State.Msgs != 1 {
			t.Errorf("notifications stream: %d replicas, cluster %+v, %d messages; want 3 (a leader and 2 more) and 1",
				info.Config.Replicas, info.Cluster, info.State.Msgs)
		}
	})

	t.Run("every node refuses anonymous clients", func(t *testing.T) {
		for _, nd := range c.Nodes {
			nc, err := nats.Connect(nd.URL(), nats.Timeout(5*time.Second), nats.NoReconnect())
			if err == nil {
				nc.Close()
				t.Errorf("%s: an anonymous client connected", nd.ServerName)
				continue
			}
			if !errors.Is(err, nats.ErrAuthorization) {
				t.Errorf("%s: %v, want an authorization violation", nd.ServerName, err)
			}
		}
	})

	// A server pointing its routes at every node: refused without the route password; joining
	// with it, the control that the refusals are the password's doing.
	for _, tc := range []struct {
		with, name, userinfo string
		joins                bool
	}{
		{"no route credentials", "no-credentials", "", false},
		{"a wrong route password", "wrong-password", "route:" + password(t) + "@", false},
		{"another identity's password", "admin-password", "route:" + s.passwords["admin"] + "@", false},
		{"the route password", "route-password", "route:" + routePassword + "@", true},
	} {
		t.Run("a server with "+tc.with, func(t *testing.T) {
			name := tc.name
			extra := startExtraNode(t, c, name, tc.userinfo)
			if tc.joins {
				for _, nd := range c.Nodes {
					testkit.Eventually(t, time.Minute, nd.ServerName+" routes to "+name, func() bool {
						remotes, err := routedTo(ctx, nd.Monitor())
						return err == nil && remotes[name]
					})
				}
				return
			}
			// Each node's refusal shows in the server's log, one line per route address; a node
			// that lets it in instead ends the wait early.
			testkit.Eventually(t, time.Minute, "every node refuses the route of "+name+", or one routes to it", func() bool {
				log, _ := os.ReadFile(extra.Log)
				refused := 0
				for _, nd := range c.Nodes {
					if remotes, err := routedTo(ctx, nd.Monitor()); err == nil && remotes[name] {
						return true
					}
					if refusedBy(string(log), nd.Route()) {
						refused++
					}
				}
				return refused == len(c.Nodes)
			})
			for _, nd := range c.Nodes {
				remotes, err := routedTo(ctx, nd.Monitor())
				if err != nil {
					t.Fatal(err)
				}
				if remotes[name] || len(remotes) != 2 {
					t.Errorf("%s routes to %v, want the other two nodes only", nd.ServerName, remotes)
				}
			}
		})
	}
}

// refusedBy says whether log, a nats-server's, shows a route to addr refused for its credentials.
func refusedBy(log, addr string) bool {
	for line := range strings.Lines(log) {
		if strings.Contains(line, addr+" - rid:") && strings.Contains(line, "Authorization Violation") {
			return true
		}
	}
	return false
}

// startExtraNode starts a server of the cluster "boletas", without JetStream nor authorization,
// whose routes go to every node of c with userinfo ("user:password@" or "") in their URLs, and
// stops it when the test ends.
func startExtraNode(t *testing.T, c *natsserver.Cluster, name, userinfo string) *process.Child {
	t.Helper()
	dir := t.TempDir()
	var routes []string
	for _, nd := range c.Nodes {
		routes = append(routes, fmt.Sprintf("%q", "nats-route://"+userinfo+nd.Route()))
	}
	p := &process.Child{Name: "nats-server " + name, Path: serverBinary(t), Log: filepath.Join(dir, "nats.log")}
	_, err := freeport.Try(func(addr string) error {
		route, err := freeport.Candidate()
		if err != nil {
			return err
		}
		monitor, err := freeport.Candidate()
		if err != nil {
			return err
		}
		conf := filepath.Join(dir, "nats.conf")
		cfg := fmt.Sprintf("server_name: %q\nlisten: %q\nhttp: %q\ncluster {\n  name: \"boletas\"\n  listen: %q\n  routes: [%s]\n}\n",
			name, addr, monitor, route, strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
			return err
		}
		p.Args = []string{"-c", conf}
		return p.StartReady(context.Background(), func(ctx context.Context) error { return ready.TCP(ctx, addr, time.Minute) })
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// routedTo is the set of servers the node whose monitoring is at monitor has routes to, from its
// /routez.
func routedTo(ctx context.Context, monitor string) (map[string]bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, monitor+"/routez", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var routez struct {
		Routes []struct {
			RemoteName string `json:"remote_name"`
		} `json:"routes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&routez); err != nil {
		return nil, fmt.Errorf("%s/routez: %w", monitor, err)
	}
	remotes := map[string]bool{}
	for _, r := range routez.Routes {
		remotes[r.RemoteName] = true
	}
	return remotes, nil
}
