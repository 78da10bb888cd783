package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/natsconn"
)

// Config is read from the environment by envconfig; `bin/ingest -h` prints it.
type Config struct {
	Addr       string `envconfig:"INGEST_ADDR" default:":8080" desc:"address the HTTP server listens on"`
	NATSURL    string `envconfig:"NATS_URL" default:"nats://127.0.0.1:4222" desc:"NATS server(s), comma-separated"`
	NATSPrefix string `envconfig:"NATS_PREFIX" default:"" desc:"namespace for subjects and streams (empty in production)"`
	// Who ingest is to NATS (the ingest identity of deploy/nats/permissions.conf) and TLS.
	natsconn.Config
	// WebhookTokens is a comma-separated list so a token can be rotated without downtime: add the
	// new one, change NubeFacT's panel, remove the old one. It is parsed by ParseTokens rather
	// than by envconfig, whose errors would quote the secret.
	WebhookTokens    string        `envconfig:"WEBHOOK_TOKENS" required:"true" desc:"shared secrets accepted as Bearer token or ?token= (comma-separated, 16+ characters each)"`
	WebhookRate      float64       `envconfig:"WEBHOOK_RATE" default:"0" desc:"webhooks per second each token may send, in this instance; more get 429 with Retry-After (0: no limit; see docs/webhook.md before turning it on)"`
	WebhookBurst     int           `envconfig:"WEBHOOK_BURST" default:"100" desc:"webhooks a token may send at once above WEBHOOK_RATE (a day's batch of acceptances arrives together)"`
	PublishTimeout   time.Duration `envconfig:"PUBLISH_TIMEOUT" default:"3s" desc:"how long a webhook waits for JetStream to store it, retrying through a stream leader election or a reconnect, before answering 503"`
	RetryAfter       time.Duration `envconfig:"RETRY_AFTER" default:"5s" desc:"Retry-After sent with a 503"`
	TrustProxy       bool          `envconfig:"TRUST_PROXY" default:"false" desc:"take the sender's address from X-Forwarded-For (only behind a proxy you run)"`
	EnlaceHosts      []string      `envconfig:"ENLACE_HOSTS" default:"" desc:"hosts a notification's links (enlace, enlace_del_pdf/xml/cdr) may point to, comma-separated; *.example.com for any subdomain (empty: any https host)"`
	MetricsAddr      string        `envconfig:"METRICS_ADDR" default:":9091" desc:"address of GET /metrics (Prometheus), a listener of its own, never the webhook's (empty: no metrics)"`
	TLSCertFile      string        `envconfig:"TLS_CERT_FILE" default:"" desc:"serve HTTPS with this certificate (PEM); plain HTTP when empty"`
	TLSKeyFile       string        `envconfig:"TLS_KEY_FILE" default:"" desc:"private key (PEM) for TLS_CERT_FILE"`
	PprofAddr        string        `envconfig:"PPROF_ADDR" default:"" desc:"serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060 (off when empty; loopback only unless PPROF_ALLOW_REMOTE)"`
	PprofAllowRemote bool          `envconfig:"PPROF_ALLOW_REMOTE" default:"false" desc:"let PPROF_ADDR be an address other machines can reach (the profiler has no authentication)"`
	ShutdownTimeout  time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"how long in-flight requests may take to finish on SIGTERM"`
	LogLevel         slog.Level    `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// MinTokenLength keeps guessable tokens out: the token is the endpoint's only protection.
const MinTokenLength = 16

// ParseTokens splits WEBHOOK_TOKENS. Its errors never quote a token.
func ParseTokens(s string) ([][]byte, error) {
	var out [][]byte
	for i, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			continue
		case len(t) < MinTokenLength:
			return nil, fmt.Errorf("WEBHOOK_TOKENS: token #%d is %d characters long, want at least %d", i+1, len(t), MinTokenLength)
		}
		out = append(out, []byte(t))
	}
	if len(out) == 0 {
		return nil, errors.New("WEBHOOK_TOKENS: no token given; the webhook must not run unprotected")
	}
	return out, nil
}

// decoder is the notification decoder ENLACE_HOSTS configures, with the budget of unknown keys.
func (c Config) decoder() (contracts.Decoder, error) {
	d, err := contracts.NewDecoder(c.EnlaceHosts)
	if err != nil {
		return d, fmt.Errorf("ENLACE_HOSTS: %w", err)
	}
	d.MaxUnknown = contracts.MaxUnknown
	return d, nil
}

func (c Config) validate() error {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return errors.New("TLS_CERT_FILE and TLS_KEY_FILE must be set together")
	}
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.PublishTimeout <= 0 {
		return errors.New("PUBLISH_TIMEOUT must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("SHUTDOWN_TIMEOUT must be positive")
	}
	if c.WebhookRate < 0 {
		return errors.New("WEBHOOK_RATE must not be negative (0: no limit)")
	}
	if c.WebhookRate > 0 && c.WebhookBurst < 1 {
		return errors.New("WEBHOOK_BURST must be at least 1 when WEBHOOK_RATE is set")
	}
	if _, err := c.decoder(); err != nil {
		return err
	}
	return httpapi.CheckPprofAddr(c.PprofAddr, c.PprofAllowRemote)
}
