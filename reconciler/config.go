package reconciler

import (
	"errors"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/reconciler/stream"
)

// Config is read from the environment by envconfig; `bin/reconciler -h` prints it.
type Config struct {
	Addr        string `envconfig:"RECONCILER_ADDR" default:":8081" desc:"address of the health endpoints (/healthz, /readyz)"`
	DatabaseURL string `envconfig:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" desc:"PostgreSQL connection string (never logged)"`
	MaxConns    int32  `envconfig:"DATABASE_MAX_CONNS" default:"10" desc:"size of the Postgres connection pool"`
	NATSURL     string `envconfig:"NATS_URL" default:"nats://127.0.0.1:4222" desc:"NATS server(s), comma-separated"`
	NATSPrefix  string `envconfig:"NATS_PREFIX" default:"" desc:"namespace for subjects and streams (empty in production)"`

	Consumer              string        `envconfig:"CONSUMER_NAME" default:"reconciler" desc:"durable consumer shared by all reconciler instances"`
	StreamReplicas        int           `envconfig:"STREAM_REPLICAS" default:"1" desc:"JetStream replicas of every stream (3 on a cluster)"`
	DuplicateWindow       time.Duration `envconfig:"STREAM_DUPLICATE_WINDOW" default:"10m" desc:"JetStream de-duplication window of the notifications stream (the inbox covers any age)"`
	StreamMaxAge          time.Duration `envconfig:"STREAM_MAX_AGE" default:"720h" desc:"how long notifications and events stay in their streams"`
	EventsDuplicateWindow time.Duration `envconfig:"EVENTS_DUPLICATE_WINDOW" default:"1h" desc:"de-duplication window of the events stream (covers relay retries)"`
	AckWait               time.Duration `envconfig:"CONSUMER_ACK_WAIT" default:"10s" desc:"redelivery delay of a message left unacknowledged (e.g. by a crash); must exceed a batch's apply time"`
	MaxDeliver            int           `envconfig:"CONSUMER_MAX_DELIVER" default:"-1" desc:"deliveries before JetStream gives up (-1: never; unknown comprobantes are parked after UNKNOWN_RETRIES)"`
	MaxAckPending         int           `envconfig:"CONSUMER_MAX_ACK_PENDING" default:"5000" desc:"messages delivered and not yet acknowledged, across all instances (at least BATCH_SIZE × WORKERS)"`
	BatchSize             int           `envconfig:"BATCH_SIZE" default:"500" desc:"notifications applied per Postgres transaction, at most"`
	Workers               int           `envconfig:"WORKERS" default:"6" desc:"batches applied concurrently, each in its own transaction"`

	UnknownRetries    int           `envconfig:"UNKNOWN_RETRIES" default:"10" desc:"a notification for a comprobante not in the table is parked after this many deliveries..."`
	UnknownBackoff    time.Duration `envconfig:"UNKNOWN_BACKOFF" default:"2s" desc:"first retry delay for an unknown comprobante (doubles each time)"`
	UnknownBackoffMax time.Duration `envconfig:"UNKNOWN_BACKOFF_MAX" default:"10m" desc:"longest retry delay for an unknown comprobante"`
	UnknownParkAfter  time.Duration `envconfig:"UNKNOWN_PARK_AFTER" default:"15m" desc:"and only once it was received this long ago (redeliveries during an outage do not spend the budget early)"`

	NubefactRuta      string        `envconfig:"NUBEFACT_RUTA" default:"" desc:"the account's RUTA (API URL), for regularize and VERIFY_WEBHOOKS"`
	NubefactToken     string        `envconfig:"NUBEFACT_TOKEN" default:"" desc:"the account's API token (never logged)"`
	NubefactTimeout   time.Duration `envconfig:"NUBEFACT_TIMEOUT" default:"10s" desc:"timeout of each call to NubeFacT"`
	NubefactRetries   int           `envconfig:"NUBEFACT_RETRIES" default:"4" desc:"retries of a call that failed with codigo 40, HTTP 5xx, a timeout or a connection error"`
	NubefactBackoff   time.Duration `envconfig:"NUBEFACT_BACKOFF" default:"500ms" desc:"first delay between those retries (doubles, with jitter, up to 10s)"`
	VerifyConcurrency int           `envconfig:"VERIFY_CONCURRENCY" default:"4" desc:"Operation 2 calls in flight per reconciler when verifying webhooks"`
	VerifyWebhooks    bool          `envconfig:"VERIFY_WEBHOOKS" default:"false" desc:"confirm every webhook with Operation 2 before applying it (one API call each)"`

	RelayInterval   time.Duration `envconfig:"RELAY_INTERVAL" default:"1s" desc:"how often the outbox is swept for events not yet published"`
	PprofAddr       string        `envconfig:"PPROF_ADDR" default:"" desc:"serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6061 (off when empty)"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"how long the batch in flight may take to finish on SIGTERM"`
	LogLevel        slog.Level    `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`

	hooks hooks // for tests only; envconfig ignores unexported fields
}

// hooks let in-process tests stop the reconciler at the instants a crash matters.
type hooks struct {
	// crashAfterCommit, when it returns true, stops the reconciler right after a batch commits:
	// before any acknowledgement and before the relay publishes, as a SIGKILL there would.
	crashAfterCommit func() bool
}

// errCrash is how a simulated crash ends Run.
var errCrash = errors.New("simulated crash")

func (c Config) validate() error {
	var errs []error
	if c.BatchSize < 1 {
		errs = append(errs, errors.New("BATCH_SIZE must be at least 1"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("WORKERS must be at least 1"))
	}
	if c.MaxAckPending != -1 && c.MaxAckPending < c.BatchSize*c.Workers {
		errs = append(errs, errors.New("CONSUMER_MAX_ACK_PENDING must be at least BATCH_SIZE × WORKERS"))
	}
	if c.StreamReplicas < 1 {
		errs = append(errs, errors.New("STREAM_REPLICAS must be at least 1"))
	}
	if c.UnknownRetries < 1 {
		errs = append(errs, errors.New("UNKNOWN_RETRIES must be at least 1"))
	}
	if c.MaxDeliver != -1 && c.MaxDeliver <= c.UnknownRetries {
		errs = append(errs, errors.New("CONSUMER_MAX_DELIVER must be -1 or greater than UNKNOWN_RETRIES, or notifications would be dropped before they are parked"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("CONSUMER_ACK_WAIT must be at least 1s"))
	}
	if c.Consumer == "" {
		errs = append(errs, errors.New("CONSUMER_NAME must not be empty"))
	}
	if c.VerifyConcurrency < 1 {
		errs = append(errs, errors.New("VERIFY_CONCURRENCY must be at least 1"))
	}
	if c.VerifyWebhooks && (c.NubefactRuta == "" || c.NubefactToken == "") {
		errs = append(errs, errors.New("VERIFY_WEBHOOKS needs NUBEFACT_RUTA and NUBEFACT_TOKEN"))
	}
	if c.VerifyWebhooks && c.NubefactTimeout <= 0 {
		errs = append(errs, errors.New("NUBEFACT_TIMEOUT must be positive with VERIFY_WEBHOOKS: without a timeout a stalled NubeFacT holds a batch forever"))
	}
	if c.MaxConns < int32(c.Workers)+1 {
		errs = append(errs, errors.New("DATABASE_MAX_CONNS must exceed WORKERS (the relay needs a connection too)"))
	}
	return errors.Join(errs...)
}

func (c Config) streamOpciones() stream.Opciones {
	return stream.Opciones{
		Replicas: c.StreamReplicas, DuplicateWindow: c.DuplicateWindow, MaxAge: c.StreamMaxAge,
		EventsDuplicateWindow: c.EventsDuplicateWindow, Consumer: c.Consumer, AckWait: c.AckWait,
		MaxDeliver: c.MaxDeliver, MaxAckPending: c.MaxAckPending,
	}
}
