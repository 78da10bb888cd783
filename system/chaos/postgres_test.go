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
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/internal/freeport"
)

// clusterPG is a PostgreSQL cluster of the suite's own: initdb into a temporary directory and
// pg_ctl on a free port, so it can be stopped without touching the machine's server.
type clusterPG struct {
	bin, data, log string
	port           int
	asPostgres     bool // initdb refuses to run as root: run the cluster as the postgres user
}

func newPGCluster(tb testing.TB, dir string) *clusterPG {
	tb.Helper()
	bin := os.Getenv("CHAOS_PG_BIN")
	if bin == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(matches) == 0 {
			tb.Fatal("initdb not found: install PostgreSQL's server package or set CHAOS_PG_BIN")
		}
		bin = filepath.Dir(matches[len(matches)-1])
	}
	c := &clusterPG{bin: bin, data: filepath.Join(dir, "pgdata"), log: filepath.Join(dir, "postgres.log")}
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
		if err := os.Mkdir(c.data, 0o700); err != nil {
			tb.Fatal(err)
		}
		for _, p := range []string{c.data} {
			if err := os.Chown(p, uid, gid); err != nil {
				tb.Fatal(err)
			}
		}
		f, _ := os.Create(c.log)
		f.Close()
		_ = os.Chown(c.log, uid, gid)
	}
	if err := c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		tb.Fatal(err)
	}
	// The first start picks the port; the restarts of the PostgreSQL scenario keep it, since the
	// reconcilers reconnect to it.
	_, err := freeport.Try(func(addr string) error {
		_, port, _ := net.SplitHostPort(addr)
		c.port, _ = strconv.Atoi(port)
		return c.start()
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
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
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c synchronous_commit=on -c max_connections=100", c.port, c.data)
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
