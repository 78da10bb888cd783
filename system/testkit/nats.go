package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// NATSImage is the NATS image started when TEST_NATS_URL is not set.
const NATSImage = "nats:2.11-alpine"

var natsServer = &service{name: "NATS", env: "TEST_NATS_URL", start: startNATS}

// NATSURL returns the address of the test NATS server.
func NATSURL(tb testing.TB) string {
	tb.Helper()
	return natsServer.URL(tb)
}

func startNATS(ctx context.Context) (string, error) {
	c, err := testcontainers.Run(ctx, NATSImage,
		testcontainers.WithCmd("-js"),
		testcontainers.WithExposedPorts("4222/tcp"),
		testcontainers.WithWaitStrategy(wait.ForLog("Server is ready")),
	)
	if err != nil {
		return "", err
	}
	// The container is removed by testcontainers' reaper when the test binary exits.
	return c.PortEndpoint(ctx, "4222/tcp", "nats")
}

// Connect returns a connection to the test server, closed when tb ends.
func Connect(tb testing.TB) (*natsgo.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := natsgo.Connect(NATSURL(tb), natsgo.Name(tb.Name()))
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

// Namespace returns a topology of subjects and streams unique to tb; the streams created in it
// are deleted when tb ends, so tests run in parallel and again on the same server.
func Namespace(tb testing.TB) contracts.Topologia {
	tb.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	topo := contracts.Topologia{Prefijo: "t" + hex.EncodeToString(b)}
	_, js := Connect(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		prefix := strings.ToUpper(topo.Prefijo) + "_"
		var doomed []string
		for name := range js.StreamNames(ctx).Name() {
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
