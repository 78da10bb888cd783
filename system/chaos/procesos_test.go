//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// proceso is a child process the suite can kill and start again.
type proceso struct {
	nombre string
	args   []string
	env    []string
	log    string
	cmd    *exec.Cmd
	done   chan struct{}
}

func (p *proceso) start(tb testing.TB) {
	tb.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(f, "\n--- start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", p.nombre, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
}

// kill sends SIGKILL to the process group and waits for it to die.
func (p *proceso) kill() {
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (p *proceso) stop() {
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill()
	}
	p.cmd = nil
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func esperarHTTP(tb testing.TB, url string, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("%s not ready after %v", url, d)
}

func esperarTCP(tb testing.TB, addr string, d time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("%s does not answer after %v", addr, d)
}

// servidorNATS is a nats-server process with JetStream, its own port and store directory, and
// the durability settings this system ships with (deploy/nats/nats-server.conf).
type servidorNATS struct {
	proceso
	port int
}

func nuevoNATS(tb testing.TB, dir, bin string) *servidorNATS {
	tb.Helper()
	port := freePort(tb)
	conf := filepath.Join(dir, "nats.conf")
	store := filepath.Join(dir, "jetstream")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`listen: "127.0.0.1:%d"
jetstream {
  store_dir: %q
  sync_interval: always
}
`, port, store)), 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	s := &servidorNATS{port: port, proceso: proceso{nombre: "nats-server", args: []string{bin, "-c", conf}, log: filepath.Join(dir, "nats.log")}}
	s.start(tb)
	return s
}

func (s *servidorNATS) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *servidorNATS) start(tb testing.TB) {
	tb.Helper()
	s.proceso.start(tb)
	esperarTCP(tb, "127.0.0.1:"+strconv.Itoa(s.port), 30*time.Second)
}

// clusterPG is a PostgreSQL cluster of the suite's own: initdb into a temporary directory and
// pg_ctl on a free port, so it can be stopped without touching the machine's server.
type clusterPG struct {
	bin, data, log string
	port           int
	asPostgres     bool // initdb refuses to run as root: run the cluster as the postgres user
}

func nuevoPG(tb testing.TB, dir string) *clusterPG {
	tb.Helper()
	bin := os.Getenv("CHAOS_PG_BIN")
	if bin == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(matches) == 0 {
			tb.Fatal("initdb not found: install PostgreSQL's server package or set CHAOS_PG_BIN")
		}
		bin = filepath.Dir(matches[len(matches)-1])
	}
	c := &clusterPG{bin: bin, data: filepath.Join(dir, "pgdata"), log: filepath.Join(dir, "postgres.log"), port: freePort(tb)}
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
	c.run(tb, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	c.start(tb)
	return c
}

func (c *clusterPG) run(tb testing.TB, tool string, args ...string) {
	tb.Helper()
	argv := append([]string{filepath.Join(c.bin, tool)}, args...)
	if c.asPostgres {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", tool, err, out)
	}
}

func (c *clusterPG) start(tb testing.TB) {
	tb.Helper()
	// synchronous_commit=on is the setting this system ships with: a commit is on disk before
	// the reconciler acknowledges the message.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c synchronous_commit=on -c max_connections=100", c.port, c.data)
	c.run(tb, "pg_ctl", "-D", c.data, "-l", c.log, "-o", opts, "-w", "-t", "60", "start")
}

func (c *clusterPG) stop(tb testing.TB) {
	tb.Helper()
	c.run(tb, "pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop")
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
