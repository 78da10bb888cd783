package natsconn_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

const secret = "s3cret-password-never-printed"

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "some.pem")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		cfg  natsconn.Config
		want []string // substrings of the error; none: valid
	}{
		{"anonymous", natsconn.Config{}, nil},
		{"user and password", natsconn.Config{NATSUser: "ingest", NATSPassword: secret}, nil},
		{"user without password", natsconn.Config{NATSUser: "ingest"}, []string{"NATS_USER needs NATS_PASSWORD"}},
		{"password without user", natsconn.Config{NATSPassword: secret}, []string{"NATS_PASSWORD needs NATS_USER"}},
		{"two kinds of credentials", natsconn.Config{NATSCreds: file, NATSUser: "ingest", NATSPassword: secret},
			[]string{"set one"}},
		{"certificate without key", natsconn.Config{NATSCert: file}, []string{"NATS_CERT and NATS_KEY go together"}},
		{"key without certificate", natsconn.Config{NATSKey: file}, []string{"NATS_CERT and NATS_KEY go together"}},
		{"unreadable files", natsconn.Config{NATSCA: missing, NATSNKeySeed: dir},
			[]string{"NATS_CA: open " + missing, "NATS_NKEY_SEED: read " + dir}},
		{"TLS", natsconn.Config{NATSCA: file, NATSCert: file, NATSKey: file}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Validate() = %q quotes the password", err)
			}
		})
	}
}

// TestOptions applies the options to nats.Options, as nats.Connect does, and checks what the
// connection would present.
func TestOptions(t *testing.T) {
	dir := t.TempDir()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	seedFile := filepath.Join(dir, "ingest.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	notASeed := filepath.Join(dir, "not-a-seed.nk")
	if err := os.WriteFile(notASeed, []byte("SUnot-a-seed-but-a-secret"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("user and password", func(t *testing.T) {
		o := apply(t, natsconn.Config{NATSUser: "ingest", NATSPassword: secret}, "ingest")
		if o.User != "ingest" || o.Password != secret {
			t.Errorf("user %q password %q, want ingest and the password", o.User, o.Password)
		}
		if o.InboxPrefix != "_INBOX_ingest" || o.PingInterval != natsconn.PingInterval || o.MaxPingsOut != natsconn.MaxPingsOut {
			t.Errorf("inbox %q ping %v/%d", o.InboxPrefix, o.PingInterval, o.MaxPingsOut)
		}
		if o.Secure {
			t.Error("TLS on without NATS_CA or NATS_CERT")
		}
	})
	t.Run("nkey seed", func(t *testing.T) {
		o := apply(t, natsconn.Config{NATSNKeySeed: seedFile}, "reconciler")
		if o.Nkey != pub || o.SignatureCB == nil {
			t.Errorf("nkey %q (signs: %v), want %q", o.Nkey, o.SignatureCB != nil, pub)
		}
	})
	t.Run("not a seed", func(t *testing.T) {
		_, err := natsconn.Config{NATSNKeySeed: notASeed}.Options("reconciler", "reconciler", slog.New(slog.DiscardHandler))
		if err == nil || !strings.HasPrefix(err.Error(), "NATS_NKEY_SEED: ") {
			t.Fatalf("Options() error = %v, want one naming NATS_NKEY_SEED", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q quotes the file's content", err)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		o := apply(t, natsconn.Config{}, "ops")
		if o.User != "" || o.Nkey != "" || o.UserJWT != nil {
			t.Error("credentials without configuration")
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if _, err := (natsconn.Config{NATSUser: "ingest"}).Options("ingest", "ingest", slog.New(slog.DiscardHandler)); err == nil {
			t.Error("Options() accepted NATS_USER without NATS_PASSWORD")
		}
	})
}

func apply(t *testing.T, c natsconn.Config, inbox string) nats.Options {
	t.Helper()
	return applyLogging(t, c, inbox, slog.New(slog.DiscardHandler))
}

// applyLogging is apply with the program's log lines written to log.
func applyLogging(t *testing.T, c natsconn.Config, inbox string, log *slog.Logger) nats.Options {
	t.Helper()
	opts, err := c.Options("test", inbox, log)
	if err != nil {
		t.Fatal(err)
	}
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func TestIdentityNamesNoSecret(t *testing.T) {
	for cfg, want := range map[natsconn.Config]string{
		{}:                                       "anonymous",
		{NATSUser: "ops", NATSPassword: secret}:  "user ops",
		{NATSCreds: "/run/secrets/ops.creds"}:    "creds file",
		{NATSNKeySeed: "/run/secrets/ingest.nk"}: "nkey",
	} {
		if got := cfg.Identity(); got != want {
			t.Errorf("Identity() = %q, want %q", got, want)
		}
	}
}

// TestConnectFailuresAreLogged: a service that retries its first connection hears why it failed
// only through the ReconnectErrHandler. Through an outage nats.go reports every failed dial of
// every server, twice a second: each reason is logged once until the connection is back.
// (system/natsauth shows the line for a NATS_CA that did not sign the server's certificate,
// against a real server.)
func TestConnectFailuresAreLogged(t *testing.T) {
	var buf bytes.Buffer
	o := applyLogging(t, natsconn.Config{}, "ingest", slog.New(slog.NewTextHandler(&buf, nil)))
	if o.ReconnectErrCB == nil || o.ConnectedCB == nil || o.ReconnectedCB == nil {
		t.Fatal("no ReconnectErrHandler, or nothing that says the connection is back")
	}
	tlsErr := errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")
	n1 := errors.New("dial tcp 127.0.0.1:4222: connect: connection refused")
	n2 := errors.New("dial tcp 127.0.0.1:4223: connect: connection refused")
	for _, err := range []error{tlsErr, tlsErr, nil} {
		o.ReconnectErrCB(nil, err)
	}
	o.ConnectedCB(nil)
	for _, err := range []error{n1, n2, n1, n2, n1} {
		o.ReconnectErrCB(nil, err)
	}
	o.ReconnectedCB(nil)
	o.ReconnectErrCB(nil, n1)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.Contains(l, "nats connect failed") {
			got = append(got, l[strings.Index(l, "err="):])
		}
	}
	want := []string{"err=\"" + tlsErr.Error() + "\"", "err=\"" + n1.Error() + "\"", "err=\"" + n2.Error() + "\"", "err=\"" + n1.Error() + "\""}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
