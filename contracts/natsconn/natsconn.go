// Package natsconn is how every program of the pipeline connects to NATS: the identity it
// presents (a .creds file, an nkey seed, or a user and password), TLS to the server, the pings
// that notice a hung server, how it reconnects (Connect for a service, ConnectOnce for a one-shot
// command) and how it lets go (Drain). ingest, the reconciler and its commands read the same
// variables (NATS_CREDS, NATS_NKEY_SEED, NATS_USER, NATS_PASSWORD, NATS_CA, NATS_CERT, NATS_KEY)
// into Config, embedded in their own configuration; with none set they connect anonymously, as
// to a development server. deploy/nats/permissions.conf says what each identity may do.
package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Config is embedded in each service's envconfig struct, so `-h` lists its variables. The
// secrets (the password, the files' contents) are never logged nor quoted in errors.
type Config struct {
	NATSCreds    string `envconfig:"NATS_CREDS" default:"" desc:"NATS credentials file (.creds: user JWT and nkey seed)"`
	NATSNKeySeed string `envconfig:"NATS_NKEY_SEED" default:"" desc:"file holding the NATS identity's nkey seed (SU...)"`
	NATSUser     string `envconfig:"NATS_USER" default:"" desc:"NATS user (with NATS_PASSWORD); no NATS_CREDS, NATS_NKEY_SEED or NATS_USER: anonymous, for a development server"`
	NATSPassword string `envconfig:"NATS_PASSWORD" default:"" desc:"NATS_USER's password (never logged)"`
	NATSCA       string `envconfig:"NATS_CA" default:"" desc:"CA certificate (PEM) that signs the NATS server's; set, the connection uses TLS"`
	NATSCert     string `envconfig:"NATS_CERT" default:"" desc:"client certificate (PEM) presented to NATS over TLS, with NATS_KEY"`
	NATSKey      string `envconfig:"NATS_KEY" default:"" desc:"private key (PEM) of NATS_CERT"`
}

// How a hung NATS server is noticed: a ping every PingInterval, and the connection given up (and
// another server of NATS_URL tried) after MaxPingsOut unanswered: about 6 s rather than
// nats.go's default of 4 minutes.
const (
	PingInterval = 2 * time.Second
	MaxPingsOut  = 3
)

// Validate reports every inconsistency at once: credentials of two kinds, a user without a
// password or the reverse, a certificate without its key, and files that cannot be read.
func (c Config) Validate() error {
	var errs []error
	kinds := 0
	for _, set := range []bool{c.NATSCreds != "", c.NATSNKeySeed != "", c.NATSUser != ""} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		errs = append(errs, errors.New("NATS_CREDS, NATS_NKEY_SEED and NATS_USER are alternatives: set one"))
	}
	if c.NATSUser != "" && c.NATSPassword == "" {
		errs = append(errs, errors.New("NATS_USER needs NATS_PASSWORD"))
	}
	if c.NATSPassword != "" && c.NATSUser == "" {
		errs = append(errs, errors.New("NATS_PASSWORD needs NATS_USER"))
	}
	if (c.NATSCert == "") != (c.NATSKey == "") {
		errs = append(errs, errors.New("NATS_CERT and NATS_KEY go together"))
	}
	for _, f := range []struct{ name, path string }{
		{"NATS_CREDS", c.NATSCreds}, {"NATS_NKEY_SEED", c.NATSNKeySeed},
		{"NATS_CA", c.NATSCA}, {"NATS_CERT", c.NATSCert}, {"NATS_KEY", c.NATSKey},
	} {
		if f.path == "" {
			continue
		}
		if err := readable(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// readable opens the file to read one byte: a path that names nothing, a directory or a file
// this process may not read fails here, at start, not at the first reconnect.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// Options are the connect options of a program: its name, the identity and TLS of c, the pings,
// replies on the inbox prefix "_INBOX_"+inbox (the only inbox permissions.conf lets that
// program's identity read), and log lines for a disconnection, a reconnection, a failed
// connection attempt (a refused certificate, an unreachable server) and what the server
// refuses (a permission violation, bad credentials). Connect and ConnectOnce add how the
// program reconnects.
func (c Config) Options(name, inbox string, log *slog.Logger) ([]nats.Option, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	failures := &connectFailures{log: log, seen: map[string]bool{}}
	opts := []nats.Option{
		nats.Name(name),
		nats.CustomInboxPrefix("_INBOX_" + inbox),
		nats.PingInterval(PingInterval),
		nats.MaxPingsOutstanding(MaxPingsOut),
		// No error: the program closed the connection itself. Not logged, which also keeps a
		// one-shot command from writing after it returned.
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			failures.connected()
			log.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
		}),
		// A service's first connection, when it retries it, ends here rather than in ReconnectHandler.
		nats.ConnectHandler(func(*nats.Conn) { failures.connected() }),
		nats.ReconnectErrHandler(failures.failed),
		// A publish the identity may not make fails only here: the server answers it with an
		// asynchronous error, and the publish itself waits for an acknowledgement that never comes.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Error("nats refused", "err", err) }),
	}
	switch {
	case c.NATSCreds != "":
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	case c.NATSNKeySeed != "":
		o, err := nats.NkeyOptionFromSeed(c.NATSNKeySeed)
		if err != nil {
			// nats.go's message names the file, never the seed.
			return nil, fmt.Errorf("NATS_NKEY_SEED: %w", err)
		}
		opts = append(opts, o)
	case c.NATSUser != "":
		opts = append(opts, nats.UserInfo(c.NATSUser, c.NATSPassword))
	}
	if c.NATSCA != "" {
		opts = append(opts, nats.RootCAs(c.NATSCA))
	}
	if c.NATSCert != "" {
		opts = append(opts, nats.ClientCert(c.NATSCert, c.NATSKey))
	}
	return opts, nil
}

// connectFailures logs why connection attempts fail. A service retries its first connection
// (nats.RetryOnFailedConnect), and nats.go reports why that one failed only to a
// ReconnectErrHandler: without this line a NATS_CA that did not sign the server's certificate,
// or a client certificate the server refuses, looks like a server that is down. nats.go also
// reports every failed dial of a reconnect, each server of NATS_URL in turn, twice a second
// through an outage: each reason is logged once until the connection is back.
type connectFailures struct {
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool
}

func (f *connectFailures) failed(_ *nats.Conn, err error) {
	if err == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[err.Error()] {
		return
	}
	f.seen[err.Error()] = true
	f.log.Warn("nats connect failed", "err", err)
}

func (f *connectFailures) connected() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.seen)
}

// Identity names how the connection authenticates, for a log line: the user, or the kind of
// credentials; never a secret.
func (c Config) Identity() string {
	switch {
	case c.NATSCreds != "":
		return "creds file"
	case c.NATSNKeySeed != "":
		return "nkey"
	case c.NATSUser != "":
		return "user " + c.NATSUser
	}
	return "anonymous"
}
