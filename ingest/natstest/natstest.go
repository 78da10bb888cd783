// Package natstest gives tests a real NATS server with JetStream and a namespace of their own
// on it.
//
// The server is TEST_NATS_URL when that is set (CI and this repository's machines); otherwise
// testcontainers-go starts one container per test binary. When neither is possible the test is
// skipped with a message, except when CI is set: there a missing server fails the run.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Image is the NATS image started when TEST_NATS_URL is not set.
const Image = "nats:2.11-alpine"

// Servicio is a server for tests: the address in the environment variable Env or, when it is
// empty, one started by Arrancar (a container) once per test binary.
type Servicio struct {
	Nombre   string
	Env      string
	Arrancar func(context.Context) (string, error)

	once sync.Once
	url  string
	err  error
}

// URL returns the service's address, skipping tb when there is none (failing it when CI is set).
func (s *Servicio) URL(tb testing.TB) string {
	tb.Helper()
	s.once.Do(func() {
		if s.url = os.Getenv(s.Env); s.url != "" {
			return
		}
		s.url, s.err = s.arrancar()
	})
	if s.err != nil {
		s.Unavailable(tb, s.err)
	}
	return s.url
}

func (s *Servicio) arrancar() (_ string, err error) {
	defer func() {
		// Some Docker-host probes panic when there is no engine at all.
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.Arrancar(ctx)
}

// Unavailable skips tb because the service is missing, or fails it when CI is set.
func (s *Servicio) Unavailable(tb testing.TB, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s unavailable: set %s or run a Docker engine for testcontainers (%v)", s.Nombre, s.Env, err)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

var nats = &Servicio{Nombre: "NATS", Env: "TEST_NATS_URL", Arrancar: startContainer}

// URL returns the address of the test NATS server.
func URL(tb testing.TB) string {
	tb.Helper()
	return nats.URL(tb)
}

func startContainer(ctx context.Context) (string, error) {
	c, err := testcontainers.Run(ctx, Image,
		testcontainers.WithCmd("-js"),
		testcontainers.WithExposedPorts("4222/tcp"),
		testcontainers.WithWaitStrategy(wait.ForLog("Server is ready")),
	)
	if err != nil {
		return "", err
	}
	// The container is removed by testcontainers' reaper when the test binary exits.
	ep, err := c.PortEndpoint(ctx, "4222/tcp", "nats")
	if err != nil {
		return "", err
	}
	return ep, nil
}

// Connect returns a connection to the test server, closed when tb ends.
func Connect(tb testing.TB) (*natsgo.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := natsgo.Connect(URL(tb), natsgo.Name(tb.Name()))
	if err != nil {
		tb.Fatalf("nats connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// Topologia returns a namespace of subjects and streams unique to tb; the streams created in it
// are deleted when tb ends, so tests run in parallel and again on the same server.
func Topologia(tb testing.TB) contracts.Topologia {
	tb.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	topo := contracts.Topologia{Prefijo: "t" + hex.EncodeToString(b)}
	_, js := Connect(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := js.StreamNames(ctx)
		prefix := strings.ToUpper(topo.Prefijo) + "_"
		var doomed []string
		for name := range names.Name() {
			if strings.HasPrefix(name, prefix) {
				doomed = append(doomed, name)
			}
		}
		for _, name := range doomed {
			if err := js.DeleteStream(ctx, name); err != nil {
				tb.Logf("delete stream %s: %v", name, err)
			}
		}
	})
	return topo
}
