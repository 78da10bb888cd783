package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/nats-io/nats.go"
)

// identities are the users of deploy/nats/permissions.conf. The server refuses to start unless
// every password is set, admin's too, though the demo never connects as admin.
var identities = []string{"ingest", "reconciler", "ops", "subscriber", "admin"}

// startNATS starts bin/nats-server with the shipped configuration in d.logs/nats, a password
// for each identity generated for this run in its environment. The permissions name the
// production subjects and streams, so on its own server the demo uses no namespace.
func (d *demo) startNATS(ctx context.Context, deploy string) error {
	bin := filepath.Join(d.bin, "nats-server")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (run `make bin/nats-server`, or set NATS_URL to use another server)", err)
	}
	d.passwords = map[string]string{}
	var env []string
	for _, id := range identities {
		// Hex, as docs/nats-identities.md asks: nats-server reads the variable as a value.
		d.passwords[id] = randHex(24)
		env = append(env, "NATS_"+strings.ToUpper(id)+"_PASSWORD="+d.passwords[id])
	}
	dir := filepath.Join(d.logs, "nats")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	srv, err := natsserver.StartShipped(ctx, bin, dir, deploy, env)
	if err != nil {
		return fmt.Errorf("nats-server with the shipped configuration: %w", err)
	}
	d.nats, d.natsURL = srv, srv.URL()
	return nil
}

// identity is what a child process needs in its environment to connect as id: nothing on an
// external server, where every program inherits NATS_USER and NATS_PASSWORD if they are set.
// On the demo's own server any other credentials of the caller's environment are blanked: a
// program given two kinds refuses to start.
func (d *demo) identity(id string) []string {
	if d.nats == nil {
		return nil
	}
	return []string{"NATS_USER=" + id, "NATS_PASSWORD=" + d.passwords[id], "NATS_CREDS=", "NATS_NKEY_SEED=",
		"NATS_CA=", "NATS_CERT=", "NATS_KEY="}
}

// userInfo is how the demo itself connects as id: on an external server, as NATS_USER if set.
func (d *demo) userInfo(id string) []nats.Option {
	if d.nats != nil {
		return []nats.Option{nats.UserInfo(id, d.passwords[id])}
	}
	if u := os.Getenv("NATS_USER"); u != "" {
		return []nats.Option{nats.UserInfo(u, os.Getenv("NATS_PASSWORD"))}
	}
	return nil
}

func externalIdentity() string {
	if u := os.Getenv("NATS_USER"); u != "" {
		return "NATS_USER " + u + " for every program"
	}
	return "anonymous clients (NATS_USER not set)"
}

// showRefusals has ingest's identity try what it may not do, publish a regularization, and an
// anonymous client try to connect, and prints that the server refused both.
func (d *demo) showRefusals() error {
	step("What an identity may not do (deploy/nats/permissions.conf)")
	refused := make(chan error, 8)
	nc, err := nats.Connect(d.natsURL, nats.UserInfo("ingest", d.passwords["ingest"]),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case refused <- err:
			default:
			}
		}))
	if err != nil {
		return err
	}
	defer nc.Close()
	subject := d.topo.SubjectNotificacion(contracts.OrigenRegularizacion)
	if err := nc.Publish(subject, []byte(`{}`)); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	select {
	case err := <-refused:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			return fmt.Errorf("ingest publishing on %s: %w, want a permission violation", subject, err)
		}
		fmt.Printf("    ingest's identity publishes a regularization: refused (%v)\n", err)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("the server did not refuse ingest's publish on %s", subject)
	}
	anon, err := nats.Connect(d.natsURL, nats.Timeout(5*time.Second))
	if err == nil {
		anon.Close()
		return errors.New("an anonymous client connected to the shipped configuration")
	}
	fmt.Printf("    a client without credentials connects: refused (%v)\n", err)
	return nil
}
