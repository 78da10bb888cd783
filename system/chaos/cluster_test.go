//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/hotelpe/boletas/system/internal/ready"
	"github.com/hotelpe/boletas/system/testkit"
)

// election bounds the longest window without a 200 that one election may cause: NATS elects a
// stream leader within its election timeout (4–9 s), and ingest retries the publish meanwhile.
const election = 15 * time.Second

// TestChaosCluster runs the system as docs/scale-out.md describes it, on a 3-node JetStream
// cluster with R3 streams and a Postgres primary with a synchronous standby, two ingest
// instances and two reconcilers, and fails the engines under it.
func TestChaosCluster(t *testing.T) {
	seed := chaosSeed(t)
	s := newSuite(t, layout{cluster: true})
	t.Logf("seed %d (replay with CHAOS_SEED=%d); logs in %s", seed, seed, s.dir)

	t.Run("6 stream leader SIGKILL x3", func(t *testing.T) { s.scenarioStreamLeader(t, seed+6) })
	t.Run("7 stream leader frozen 10s", func(t *testing.T) { s.scenarioFrozen(t, seed+7) })
	t.Run("8 meta leader SIGKILL and rolling restart", func(t *testing.T) { s.scenarioRolling(t, seed+8) })
	// Last: it leaves the suite without a standby.
	t.Run("9 Postgres primary SIGKILL, standby promoted", func(t *testing.T) { s.scenarioPromote(t, seed+9) })
	s.report(seed, "chaos-cluster-report.md")
}

// streamLeader is the node that leads the notifications stream, from the stream's cluster
// info; it waits for one while an election runs. (It is called beside the load, off the test's
// goroutine: it reports, the caller decides.)
func (s *suite) streamLeader() (*natsserver.Node, error) {
	ctx, cancel := ctxTimeout(30 * time.Second)
	defer cancel()
	var nd *natsserver.Node
	err := testkit.Poll(30*time.Second, func() error {
		st, err := s.js.Stream(ctx, s.topo.StreamNotificaciones())
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader == "" {
			return errors.New("no leader yet")
		}
		if nd = s.cluster.Node(info.Cluster.Leader); nd == nil || nd.Pid() == 0 {
			return fmt.Errorf("leader %q is not a running node", info.Cluster.Leader)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("no leader for the notifications stream within 30 s: %v", err)
	}
	return nd, nil
}

// restart starts a stopped node again and waits until every node is current.
func (s *suite) restart(t *testing.T, nd *natsserver.Node) {
	ctx, cancel := ctxTimeout(2 * time.Minute)
	defer cancel()
	if err := nd.Restart(ctx); err != nil {
		t.Error(err)
		return
	}
	if err := s.cluster.WaitHealthy(ctx, time.Minute); err != nil {
		t.Error(err)
	}
}

// during runs the load and, beside it, fault until it returns or the load ends (fault should
// watch loadDone); it returns when both are done.
func during(load func(), fault func(loadDone <-chan struct{})) {
	loadDone, faultDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(faultDone)
		fault(loadDone)
	}()
	load()
	close(loadDone)
	<-faultDone
}

// pause waits d, or less if the load ends first; it says whether the load is still running.
func pause(d time.Duration, loadDone <-chan struct{}) bool {
	select {
	case <-loadDone:
		return false
	case <-time.After(d):
		return true
	}
}

// running says whether the load is still running.
func running(loadDone <-chan struct{}) bool {
	select {
	case <-loadDone:
		return false
	default:
		return true
	}
}

func (s *suite) checkNoAnswer(t *testing.T, rem *sender) {
	if w := rem.longestWithout200(); w >= election {
		t.Errorf("no webhook got its 200 for %v (want < %v per election)", w.Round(10*time.Millisecond), election)
	}
}

// faultsWithin is how long the load of scenarios 6 and 8 lasts at the least: their faults (three
// kills or restarts, each waiting for the cluster to be healthy again) take 15–25 s here.
const faultsWithin = 40 * time.Second

func (s *suite) scenarioStreamLeader(t *testing.T, seed uint64) {
	const serie, n = "BR06", 10000
	s.insertPendientes(t, serie, n)
	rem := newSender(s.webhookURLs(), workers)
	rem.spread = faultsWithin
	rng := rand.New(rand.NewPCG(seed, 7))
	var killed []string
	var last time.Time
	during(func() { rem.send(context.Background(), seed, deliveries(serie, n), 0.2, workers) }, func(loadDone <-chan struct{}) {
		for len(killed) < 3 && pause(time.Duration(1000+rng.IntN(1500))*time.Millisecond, loadDone) {
			nd, err := s.streamLeader()
			if err != nil {
				t.Error(err)
				return
			}
			nd.Kill()
			killed = append(killed, nd.ServerName)
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
			s.restart(t, nd)
			last = time.Now()
		}
	})
	if len(killed) < 3 {
		t.Errorf("the load ended after %d of 3 leader kills", len(killed))
	}
	s.checkNoAnswer(t, rem)
	s.measure(t, "6 stream leader SIGKILL", serie, n, rem, last, "killed "+strings.Join(killed, ", "))
}

func (s *suite) scenarioFrozen(t *testing.T, seed uint64) {
	const serie, n = "BR07", 5000
	s.insertPendientes(t, serie, n)
	rem := newSender(s.webhookURLs(), workers)
	var frozen string
	var thawed time.Time
	during(func() { rem.send(context.Background(), seed, deliveries(serie, n), 0.2, workers) }, func(loadDone <-chan struct{}) {
		if !pause(2*time.Second, loadDone) {
			return
		}
		nd, err := s.streamLeader()
		if err != nil {
			t.Error(err)
			return
		}
		if err := nd.Signal(syscall.SIGSTOP); err != nil {
			t.Error(err)
			return
		}
		frozen = nd.ServerName
		time.Sleep(10 * time.Second)
		if err := nd.Signal(syscall.SIGCONT); err != nil {
			t.Error(err)
		}
		thawed = time.Now()
		ctx, cancel := ctxTimeout(2 * time.Minute)
		defer cancel()
		if err := s.cluster.WaitHealthy(ctx, time.Minute); err != nil {
			t.Error(err)
		}
	})
	if frozen == "" {
		t.Fatal("the load ended before a node was frozen")
	}
	s.checkNoAnswer(t, rem)
	s.measure(t, "7 stream leader frozen 10 s", serie, n, rem, thawed, "froze "+frozen+" (SIGSTOP, SIGCONT)")
}

func (s *suite) scenarioRolling(t *testing.T, seed uint64) {
	const serie, n = "BR08", 10000
	s.insertPendientes(t, serie, n)
	rem := newSender(s.webhookURLs(), workers)
	rem.spread = faultsWithin
	var steps []string
	var last time.Time
	afterLoad := 0
	during(func() { rem.send(context.Background(), seed, deliveries(serie, n), 0.2, workers) }, func(loadDone <-chan struct{}) {
		if !pause(time.Second, loadDone) {
			return
		}
		ctx, cancel := ctxTimeout(time.Minute)
		defer cancel()
		meta, err := s.cluster.MetaLeader(ctx, 30*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		meta.Kill()
		steps = append(steps, "SIGKILL meta leader "+meta.ServerName)
		time.Sleep(time.Second)
		s.restart(t, meta)
		for _, nd := range s.cluster.Nodes {
			if !running(loadDone) {
				afterLoad++
			}
			nd.Stop(30 * time.Second)
			s.restart(t, nd)
			steps = append(steps, "restart "+nd.ServerName)
		}
		last = time.Now()
	})
	if afterLoad > 0 {
		t.Errorf("%d of the 3 restarts began after the load ended: %v", afterLoad, steps)
	}
	s.checkNoAnswer(t, rem)
	s.measure(t, "8 meta leader SIGKILL + rolling restart", serie, n, rem, last, strings.Join(steps, ", "))
}

func (s *suite) scenarioPromote(t *testing.T, seed uint64) {
	const serie, n = "BR09", 5000
	s.insertPendientes(t, serie, n)
	rem := newSender(s.webhookURLs(), workers)
	var promoted time.Time
	during(func() { rem.send(context.Background(), seed, deliveries(serie, n), 0.2, workers) }, func(loadDone <-chan struct{}) {
		if !pause(2*time.Second, loadDone) {
			return
		}
		if err := s.pg.kill9(); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(2 * time.Second) // what a failover manager takes to decide, at the least
		if err := s.standby.promote(); err != nil {
			t.Error(err)
			return
		}
		promoted = time.Now()
	})
	if promoted.IsZero() {
		t.Fatal("the load ended before the primary was killed")
	}
	// The reconcilers found the new primary by themselves (DATABASE_URL lists both hosts).
	for _, addr := range s.recAddrs {
		if err := ready.HTTP(context.Background(), "http://"+addr+"/readyz", time.Minute); err != nil {
			t.Error(err)
		}
	}
	s.measure(t, "9 Postgres primary SIGKILL, standby promoted", serie, n, rem, promoted, "old primary stays down")
}
