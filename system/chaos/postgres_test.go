//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/freeport"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
)

// clusterPG is a PostgreSQL cluster of the suite's own: initdb into a temporary directory and
// pg_ctl on a free port, so it can be stopped without touching the machine's server.
type clusterPG struct {
	bin, data, log string
	opts           string // more server options, on the command line
	port           int
	asPostgres     bool // initdb refuses to run as root: run the cluster as the postgres user
}

// newPGCluster makes and starts a cluster, stopped when the test ends.
func newPGCluster(tb testing.TB, dir string) *clusterPG {
	tb.Helper()
	c := initPG(tb, dir, "pgdata")
	if err := c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		tb.Fatal(err)
	}
	c.startOnFreePort(tb)
	tb.Cleanup(c.destroy)
	return c
}

// newPGReplicated makes a primary and a streaming standby of it (pg_basebackup), both stopped
// when the test ends, with
// synchronous replication: a COMMIT returns once the standby has the transaction on disk, the
// setting docs/scale-out.md tells production to use, so that promoting the standby after the
// primary is lost loses no acknowledged notification.
func newPGReplicated(tb testing.TB, dir string) (primary, standby *clusterPG) {
	tb.Helper()
	primary = initPG(tb, dir, "primary")
	if err := primary.run("initdb", "-D", primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		tb.Fatal(err)
	}
	// Given on the command line, not in postgresql.conf, so the standby's copy does not inherit
	// it: a promoted standby with no standby of its own must not wait for one.
	primary.opts = "-c synchronous_standby_names=standby1"
	primary.startOnFreePort(tb)
	tb.Cleanup(primary.destroy)
	standby = initPG(tb, dir, "standby")
	if err := standby.run("pg_basebackup", "-D", standby.data, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port),
		"-U", "postgres", "-X", "stream", "-R", "--no-sync"); err != nil {
		tb.Fatal(err)
	}
	auto := filepath.Join(standby.data, "postgresql.auto.conf")
	f, err := os.OpenFile(auto, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=standby1'\n", primary.port)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	standby.startOnFreePort(tb)
	tb.Cleanup(standby.destroy)
	// Streaming and synchronous before the suite counts on it.
	ctx, cancel := ctxTimeout(time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, primary.dsn("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	testkit.Eventually(tb, time.Minute, "the standby to become a synchronous standby", func() bool {
		var sync int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync'`).Scan(&sync); err != nil {
			tb.Fatal(err)
		}
		return sync == 1
	})
	return primary, standby
}

// initPG prepares an empty data directory dir/name (owned by the postgres user when running as
// root, since initdb refuses root).
func initPG(tb testing.TB, dir, name string) *clusterPG {
	tb.Helper()
	bin := os.Getenv("CHAOS_PG_BIN")
	if bin == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(matches) == 0 {
			tb.Fatal("initdb not found: install PostgreSQL's server package or set CHAOS_PG_BIN")
		}
		bin = filepath.Dir(matches[len(matches)-1])
	}
	c := &clusterPG{bin: bin, data: filepath.Join(dir, name), log: filepath.Join(dir, name+".log")}
	if err := os.Mkdir(c.data, 0o700); err != nil {
		tb.Fatal(err)
	}
	if os.Geteuid() == 0 {
		c.asPostgres = true
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chown(c.data, uid, gid); err != nil {
			tb.Fatal(err)
		}
		f, _ := os.Create(c.log)
		f.Close()
		_ = os.Chown(c.log, uid, gid)
	}
	return c
}

// startOnFreePort starts the cluster on a free port. The restarts of the PostgreSQL scenario
// keep that port, since the reconcilers reconnect to it.
func (c *clusterPG) startOnFreePort(tb testing.TB) {
	tb.Helper()
	_, err := freeport.Try(func(addr string) error {
		_, port, _ := net.SplitHostPort(addr)
		c.port, _ = strconv.Atoi(port)
		return c.start()
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func (c *clusterPG) run(tool string, args ...string) error {
	argv := append([]string{filepath.Join(c.bin, tool)}, args...)
	if c.asPostgres {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", tool, err, out)
	}
	return nil
}

// start starts the cluster on c.port; the error matches syscall.EADDRINUSE when the port was
// taken (postgres says so in its log, pg_ctl only that it could not start).
func (c *clusterPG) start() error {
	var offset int64
	if st, err := os.Stat(c.log); err == nil {
		offset = st.Size()
	}
	// synchronous_commit=on is the setting this system ships with: a commit is on disk before
	// the reconciler acknowledges the message.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c synchronous_commit=on -c max_connections=100 %s", c.port, c.data, c.opts)
	err := c.run("pg_ctl", "-D", c.data, "-l", c.log, "-o", opts, "-w", "-t", "60", "start")
	if err == nil {
		return nil
	}
	log, _ := os.ReadFile(c.log)
	return freeport.InUse(err, string(log[min(offset, int64(len(log))):]))
}

func (c *clusterPG) stop() error {
	return c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop")
}

// kill9 kills the postmaster and every process of the cluster with SIGKILL, as if its machine
// had died: no shutdown checkpoint, no goodbye to the standby or the clients.
func (c *clusterPG) kill9() error {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	pids := append(children(pid), pid)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return testkit.Poll(10*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("postmaster %d still alive after SIGKILL", pid)
		}
		return nil
	})
}

// children lists the processes whose parent is pid (Linux /proc).
func children(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			p, _ := strconv.Atoi(filepath.Base(filepath.Dir(st)))
			out = append(out, p)
		}
	}
	return out
}

// promote turns a standby into a primary and waits until it accepts writes.
func (c *clusterPG) promote() error {
	return c.run("pg_ctl", "-D", c.data, "-w", "-t", "60", "promote")
}

func (c *clusterPG) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *clusterPG) destroy() {
	argv := []string{filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "-w", "stop"}
	if c.asPostgres {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	_ = exec.Command(argv[0], argv[1:]...).Run()
}

// ctxTimeout is a helper for bounded operations in the suite.
func ctxTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
