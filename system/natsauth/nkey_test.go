package natsauth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/reconciler/stream"
	"github.com/hotelpe/boletas/system/internal/natsserver"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// TestNkeyIdentity follows docs/nats-identities.md: ingest's line of the shipped
// permissions.conf with `nkey: U...` in place of its user and password, and ingest given
// NATS_NKEY_SEED. The identity keeps INGEST's permissions; the server holds no secret of it.
func TestNkeyIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	seedFile, pub := userSeed(t, dir, "ingest")
	strangerSeed, _ := userSeed(t, dir, "stranger")
	s := &shipped{passwords: map[string]string{}}
	var env []string
	for role, v := range roles {
		s.passwords[role] = password(t)
		env = append(env, v+"="+s.passwords[role])
	}
	srv, err := natsserver.StartShipped(ctx, serverBinary(t), t.TempDir(), shippedWithNkey(t, "ingest", pub), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	s.url = srv.URL()
	prepareStreams(ctx, t, s.connect(t, "admin", ""))
	ingestNkey := natsconn.Config{NATSNKeySeed: seedFile}

	t.Run("ingest's seed stores a webhook and is refused the rest", func(t *testing.T) {
		c := connectAs(t, s.url, "ingest", ingestNkey, "ingest")
		c.mustStore(t, "nubefact.notificaciones.webhook", "natsauth-nkey")
		for _, subject := range []string{"nubefact.notificaciones.regularizacion", "nubefact.dlq", "boleta.aceptada"} {
			c.mustBeRefused(t, subject)
		}
		c.mustNotSubscribe(t, "_INBOX_reconciler.>")
	})
	t.Run("reconciler check reads NATS_NKEY_SEED", func(t *testing.T) {
		out, err := reconcilerCheck(t, s.url, ingestNkey)
		if err != nil || !strings.Contains(out, "nats      ok") {
			t.Fatalf("reconciler check: %v\n%s", err, out)
		}
	})
	t.Run("a seed the server does not know is refused", func(t *testing.T) {
		refusedWithoutSecrets(t, s.url, natsconn.Config{NATSNKeySeed: strangerSeed}, strangerSeed)
	})
	t.Run("the password of the identity that became an nkey no longer works", func(t *testing.T) {
		nc, err := nats.Connect(s.url, nats.UserInfo("ingest", s.passwords["ingest"]), nats.Timeout(10*time.Second))
		if err == nil {
			nc.Close()
			t.Fatal("ingest's old password connected")
		}
	})
}

// TestCredsIdentity runs nats-server in operator mode (an operator, a system account and an
// account, their JWTs preloaded by a memory resolver, as `nsc` would make them) and gives
// programs NATS_CREDS: a user JWT with INGEST's permissions of permissions.conf, and its seed.
func TestCredsIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	operator := newKeyPair(t, nkeys.CreateOperator)
	system, account := newKeyPair(t, nkeys.CreateAccount), newKeyPair(t, nkeys.CreateAccount)
	oc := jwt.NewOperatorClaims(publicKey(t, operator))
	oc.Name, oc.SystemAccount = "boletas", publicKey(t, system)
	sc := jwt.NewAccountClaims(publicKey(t, system))
	sc.Name = "SYS"
	ac := jwt.NewAccountClaims(publicKey(t, account))
	ac.Name = "BOLETAS"
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	operatorFile := filepath.Join(dir, "operator.jwt")
	if err := os.WriteFile(operatorFile, []byte(encode(t, oc, operator)), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("operator: %q\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: %q\n  %s: %q\n}\n",
		operatorFile, sc.Subject, sc.Subject, encode(t, sc, operator), ac.Subject, encode(t, ac, operator))
	srv, err := natsserver.StartWith(ctx, serverBinary(t), t.TempDir(), "", conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)

	ingestCreds := credsFile(t, dir, "ingest", account, func(uc *jwt.UserClaims) {
		uc.Pub.Allow.Add("nubefact.notificaciones.webhook", "$JS.API.STREAM.INFO.NUBEFACT_NOTIFICACIONES")
		uc.Sub.Allow.Add("_INBOX_ingest.>")
	})
	admin := connectAs(t, srv.URL(), "admin", natsconn.Config{NATSCreds: credsFile(t, dir, "admin", account, nil)}, "admin")
	prepareStreams(ctx, t, admin)

	t.Run("ingest's creds store a webhook and are refused the rest", func(t *testing.T) {
		c := connectAs(t, srv.URL(), "ingest", natsconn.Config{NATSCreds: ingestCreds}, "ingest")
		c.mustStore(t, "nubefact.notificaciones.webhook", "natsauth-creds")
		for _, subject := range []string{"nubefact.notificaciones.regularizacion", "nubefact.dlq", "boleta.aceptada"} {
			c.mustBeRefused(t, subject)
		}
	})
	t.Run("reconciler check reads NATS_CREDS", func(t *testing.T) {
		out, err := reconcilerCheck(t, srv.URL(), natsconn.Config{NATSCreds: ingestCreds})
		if err != nil || !strings.Contains(out, "nats      ok") {
			t.Fatalf("reconciler check: %v\n%s", err, out)
		}
	})
	t.Run("creds signed by an account the operator does not know are refused", func(t *testing.T) {
		stranger := credsFile(t, dir, "stranger", newKeyPair(t, nkeys.CreateAccount), nil)
		refusedWithoutSecrets(t, srv.URL(), natsconn.Config{NATSCreds: stranger}, stranger)
	})
}

// userSeed writes a new nkey user's seed to dir/name.nk, as `nk -gen user -pubout` does, and
// returns the file and the public key.
func userSeed(tb testing.TB, dir, name string) (file, pub string) {
	tb.Helper()
	kp := newKeyPair(tb, nkeys.CreateUser)
	seed, err := kp.Seed()
	if err != nil {
		tb.Fatal(err)
	}
	file = filepath.Join(dir, name+".nk")
	if err := os.WriteFile(file, seed, 0o600); err != nil {
		tb.Fatal(err)
	}
	return file, publicKey(tb, kp)
}

// shippedWithNkey is a copy of deploy/nats whose permissions.conf gives role an nkey in place
// of its user and password, the change docs/nats-identities.md describes.
func shippedWithNkey(tb testing.TB, role, pub string) string {
	tb.Helper()
	deploy := filepath.Join(root(tb), "deploy", "nats")
	dir := tb.TempDir()
	for _, f := range []string{"nats-server.conf", "permissions.conf"} {
		b, err := os.ReadFile(filepath.Join(deploy, f))
		if err != nil {
			tb.Fatal(err)
		}
		conf := string(b)
		if f == "permissions.conf" {
			line := fmt.Sprintf("{ user: %s,%*spassword: $NATS_%s_PASSWORD,", role, 11-len(role), "", strings.ToUpper(role))
			if n := strings.Count(conf, line); n != 1 {
				tb.Fatalf("permissions.conf: %d lines with %q, want one", n, line)
			}
			conf = strings.Replace(conf, line, "{ nkey: "+pub+",", 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(conf), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// prepareStreams declares the streams as the reconciler does, as an identity that may.
func prepareStreams(ctx context.Context, t *testing.T, admin *client) {
	t.Helper()
	opts := stream.Options{Replicas: 1, DuplicateWindow: time.Minute, EventsDuplicateWindow: time.Minute,
		Consumer: "reconciler", AckWait: 10 * time.Second, MaxDeliver: -1, MaxAckPending: 100, MaxBytes: -1}
	if _, err := stream.Declare(ctx, admin.js, contracts.Topologia{}, opts); err != nil {
		t.Fatalf("prepare the streams: %v", err)
	}
}

// refusedWithoutSecrets connects with cfg, which the server must refuse as an authorization
// violation, in a message that quotes nothing of file (a seed, a creds file).
func refusedWithoutSecrets(t *testing.T, url string, cfg natsconn.Config, file string) {
	t.Helper()
	nc, err := connectWith(url, cfg)
	if err == nil {
		nc.Close()
		t.Fatal("connected")
	}
	if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("connect: %v, want an authorization violation", err)
	}
	b, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, l := range strings.Fields(string(b)) {
		if len(l) > 20 && strings.Contains(err.Error(), l) {
			t.Errorf("connect: %q quotes the file", err)
		}
	}
}

func newKeyPair(tb testing.TB, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	tb.Helper()
	kp, err := create()
	if err != nil {
		tb.Fatal(err)
	}
	return kp
}

func publicKey(tb testing.TB, kp nkeys.KeyPair) string {
	tb.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		tb.Fatal(err)
	}
	return pub
}

func encode(tb testing.TB, c jwt.Claims, signer nkeys.KeyPair) string {
	tb.Helper()
	s, err := c.Encode(signer)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// credsFile writes dir/name.creds for a new user of account, its permissions set by perms (nil:
// every permission), as `nsc generate creds` does.
func credsFile(tb testing.TB, dir, name string, account nkeys.KeyPair, perms func(*jwt.UserClaims)) string {
	tb.Helper()
	user := newKeyPair(tb, nkeys.CreateUser)
	uc := jwt.NewUserClaims(publicKey(tb, user))
	uc.Name = name
	if perms != nil {
		perms(uc)
	}
	seed, err := user.Seed()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := jwt.FormatUserConfig(encode(tb, uc, account), seed)
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(dir, name+".creds")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return file
}
