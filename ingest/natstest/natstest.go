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
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Image is the NATS image started when TEST_NATS_URL is not set.
const Image = "nats:2.11-alpine"

var (
	once   sync.Once
	url    string
	urlErr error
)

// URL returns the address of the test NATS server, skipping or failing tb when there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		if u := os.Getenv("TEST_NATS_URL"); u != "" {
			url = u
			return
		}
		url, urlErr = startContainer()
	})
	if urlErr != nil {
		Unavailable(tb, "NATS", "TEST_NATS_URL", urlErr)
	}
	return url
}

// Unavailable skips tb because a service is missing, or fails it when CI is set.
func Unavailable(tb testing.TB, service, envVar string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s unavailable: set %s or run a Docker engine for testcontainers (%v)", service, envVar, err)
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

func startContainer() (_ string, err error) {
	defer func() {
		// Some Docker-host probes panic when there is no engine at all.
		if r := recover(); r != nil {
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
func Connect(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(URL(tb), nats.Name(tb.Name()))
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
