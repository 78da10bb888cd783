package natsserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// binary is bin/nats-server (`make bench` and `make chaos` install it) or one on the PATH.
func binary(t *testing.T) string {
	if p, err := filepath.Abs("../../../bin/nats-server"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server: neither bin/nats-server nor one on the PATH")
	}
	return p
}

func TestKillAndRestartKeepTheStream(t *testing.T) {
	s, err := natsserver.Start(context.Background(), binary(t), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.EventuallyNoError(t, 30*time.Second, "the stream's message after the restart", func() error {
		st, err := js.Stream(ctx, "T")
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != 1 {
			return fmt.Errorf("the stream has %d messages, want 1", info.State.Msgs)
		}
		return nil
	})
}

// TestClusterSurvivesItsStreamLeader starts three nodes, kills the leader of an R3 stream and
// checks that the stream gets a new leader on another node, still holds what it acknowledged,
// and takes new messages; the killed node comes back into the cluster.
func TestClusterSurvivesItsStreamLeader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := natsserver.StartCluster(ctx, binary(t), t.TempDir(), 3, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	if got := strings.Count(c.URL(), "nats://"); got != 3 {
		t.Fatalf("URL %q lists %d nodes, want 3", c.URL(), got)
	}
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	// As the services do: a request the cluster does not answer yet (a node still catching up
	// with the meta leader on a loaded machine) is asked again.
	var st jetstream.Stream
	testkit.EventuallyNoError(t, time.Minute, "an R3 stream", func() error {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		defer acancel()
		st, err = js.CreateStream(actx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Storage: jetstream.FileStorage, Replicas: 3})
		if err != nil {
			t.Logf("creating an R3 stream: %v; again", err)
		}
		return err
	})
	if _, err := js.Publish(ctx, "t", []byte("before")); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leader := c.Node(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("stream leader %q is not a node of the cluster", info.Cluster.Leader)
	}
	leader.Kill()
	// A publish succeeds once another node leads the stream. Each attempt has a deadline of its
	// own, as ingest's do: a request sent while the client moves off the dead node may never be
	// answered, and would otherwise wait out the whole test.
	testkit.EventuallyNoError(t, time.Minute, "a publish after the leader died", func() error {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		defer acancel()
		_, err := js.Publish(actx, "t", []byte("after"))
		return err
	})
	if info, err = st.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if info.Cluster.Leader == leader.ServerName || info.State.Msgs != 2 {
		t.Errorf("after the kill: leader %q (killed %q), %d messages, want another leader and 2", info.Cluster.Leader, leader.ServerName, info.State.Msgs)
	}
	if err := leader.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MetaLeader(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}
