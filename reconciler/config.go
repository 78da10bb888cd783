package reconciler

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/hotelpe/boletas/reconciler/console"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/programada"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/stream"
)

// Config is read from the environment by envconfig; `bin/reconciler -h` prints it.
type Config struct {
	Addr        string `envconfig:"RECONCILER_ADDR" default:":8081" desc:"address of the health endpoints (/healthz, /readyz), and of /metrics when METRICS_ADDR is empty"`
	MetricsAddr string `envconfig:"METRICS_ADDR" default:":9092" desc:"address of GET /metrics (Prometheus), a listener of its own (empty: /metrics on RECONCILER_ADDR, as before this setting)"`
	DatabaseURL string `envconfig:"DATABASE_URL" default:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" desc:"PostgreSQL connection string (never logged)"`
	MaxConns    int32  `envconfig:"DATABASE_MAX_CONNS" default:"10" desc:"size of the Postgres connection pool"`
	NATSURL     string `envconfig:"NATS_URL" default:"nats://127.0.0.1:4222" desc:"NATS server(s), comma-separated"`
	NATSPrefix  string `envconfig:"NATS_PREFIX" default:"" desc:"namespace for subjects and streams (empty in production)"`
	// Who the reconciler is to NATS (the reconciler identity of deploy/nats/permissions.conf;
	// ops for the one-shot commands) and TLS.
	natsconn.Config
	// EnlaceHosts must match ingest's: the reconciler decodes every payload again.
	EnlaceHosts []string `envconfig:"ENLACE_HOSTS" default:"" desc:"hosts a notification's links may point to, as ingest's ENLACE_HOSTS (empty: any https host)"`

	Consumer              string        `envconfig:"CONSUMER_NAME" default:"reconciler" desc:"durable consumer shared by all reconciler instances"`
	StreamReplicas        int           `envconfig:"STREAM_REPLICAS" default:"1" desc:"JetStream replicas of every stream (3 on a cluster)"`
	DuplicateWindow       time.Duration `envconfig:"STREAM_DUPLICATE_WINDOW" default:"10m" desc:"JetStream de-duplication window of the notifications stream (the inbox covers any age)"`
	StreamMaxAge          time.Duration `envconfig:"STREAM_MAX_AGE" default:"720h" desc:"how long notifications and events stay in their streams"`
	EventsDuplicateWindow time.Duration `envconfig:"EVENTS_DUPLICATE_WINDOW" default:"1h" desc:"de-duplication window of the events stream (covers relay retries)"`
	AckWait               time.Duration `envconfig:"CONSUMER_ACK_WAIT" default:"10s" desc:"redelivery delay of a message left unacknowledged (e.g. by a crash); must exceed a batch's apply time"`
	MaxDeliver            int           `envconfig:"CONSUMER_MAX_DELIVER" default:"-1" desc:"deliveries before JetStream gives up (-1: never; the reconciler records what it cannot apply)"`
	MaxAckPending         int           `envconfig:"CONSUMER_MAX_ACK_PENDING" default:"5000" desc:"messages delivered and not yet acknowledged, across all instances (at least BATCH_SIZE × WORKERS)"`
	BatchSize             int           `envconfig:"BATCH_SIZE" default:"500" desc:"notifications applied per Postgres transaction, at most"`
	Workers               int           `envconfig:"WORKERS" default:"6" desc:"batches applied concurrently, each in its own transaction"`

	StreamMaxBytes int64         `envconfig:"STREAM_MAX_BYTES" default:"1073741824" desc:"size limit of each stream in bytes (-1: none); a full notifications stream refuses new webhooks (ingest answers 503, NubeFacT retries) until old ones age out or ops purge applied ones"`
	DLQMaxAge      time.Duration `envconfig:"DLQ_MAX_AGE" default:"2160h" desc:"how long dead letters stay in their stream"`

	ParkedInterval time.Duration `envconfig:"PARKED_INTERVAL" default:"1s" desc:"how often notifications waiting for their comprobante are checked; one is applied this soon after the comprobante's INSERT"`
	ParkedMax      int64         `envconfig:"PARKED_MAX" default:"100000" desc:"notifications that may wait for their comprobante at once; beyond, one for an unknown comprobante goes to the dead-letter stream with its reason instead (0: no cap)"`
	ParkedMaxAge   time.Duration `envconfig:"PARKED_MAX_AGE" default:"2160h" desc:"a notification whose comprobante never appears is discarded (and the discard audited) after waiting this long"`

	NubefactRuta      string        `envconfig:"NUBEFACT_RUTA" default:"" desc:"the account's RUTA (API URL), for regularize and VERIFY_WEBHOOKS"`
	NubefactToken     string        `envconfig:"NUBEFACT_TOKEN" default:"" desc:"the account's API token (never logged)"`
	NubefactTimeout   time.Duration `envconfig:"NUBEFACT_TIMEOUT" default:"10s" desc:"timeout of each call to NubeFacT"`
	NubefactRetries   int           `envconfig:"NUBEFACT_RETRIES" default:"4" desc:"retries of a call that failed with codigo 40, HTTP 5xx, a timeout or a connection error"`
	NubefactBackoff   time.Duration `envconfig:"NUBEFACT_BACKOFF" default:"500ms" desc:"first delay between those retries (doubles, with jitter, up to 10s)"`
	VerifyConcurrency int           `envconfig:"VERIFY_CONCURRENCY" default:"4" desc:"Operation 2 calls in flight per reconciler when verifying webhooks"`
	VerifyRate        float64       `envconfig:"VERIFY_RATE" default:"10" desc:"Operation 2 calls started per second at most, per reconciler, when verifying webhooks (0: no limit)"`
	VerifyRetries     int           `envconfig:"VERIFY_RETRIES" default:"5" desc:"deliveries of a webhook NubeFacT cannot confirm yet before it is recorded as a conflict"`
	VerifyWebhooks    bool          `envconfig:"VERIFY_WEBHOOKS" default:"false" desc:"confirm every webhook with Operation 2 before applying it (one API call each)"`

	Metrics           bool          `envconfig:"METRICS" default:"true" desc:"serve GET /metrics (Prometheus) on METRICS_ADDR and keep its counters"`
	MetricsInterval   time.Duration `envconfig:"METRICS_INTERVAL" default:"30s" desc:"how often the gauges of GET /metrics are read from Postgres and JetStream"`
	PlazoAtencionDias int           `envconfig:"PLAZO_ATENCION_DIAS" default:"2" desc:"calendar days since issue (Lima) from which a pending boleta is in the atencion band"`
	PlazoCriticoDias  int           `envconfig:"PLAZO_CRITICO_DIAS" default:"5" desc:"days from which it is critico"`
	PlazoDias         int           `envconfig:"PLAZO_DIAS" default:"7" desc:"SUNAT's deadline: past these days it is vencido"`

	RegularizeEvery       time.Duration `envconfig:"REGULARIZE_EVERY" default:"0" desc:"regularize on this schedule, as a safety net for lost webhooks (0: off; needs NUBEFACT_RUTA and NUBEFACT_TOKEN); one reconciler runs each round"`
	RegularizeOlderThan   time.Duration `envconfig:"REGULARIZE_OLDER_THAN" default:"48h" desc:"the schedule consults only comprobantes pending for longer than this since issue"`
	RegularizeConcurrency int           `envconfig:"REGULARIZE_CONCURRENCY" default:"4" desc:"Operation 2 calls in flight in a scheduled round (regularize --concurrency)"`
	RegularizeRate        float64       `envconfig:"REGULARIZE_RATE" default:"5" desc:"calls per second at most in a scheduled round (regularize --rate; 0: no limit)"`
	RegularizeMaxFailures int           `envconfig:"REGULARIZE_MAX_FAILURES" default:"20" desc:"a regularization (command, schedule, console) stops, recorded as error, after this many calls in a row got no answer from NubeFacT (timeout, connection error, HTTP 5xx; each after NUBEFACT_RETRIES)"`

	ConsoleAddr        string `envconfig:"CONSOLE_ADDR" default:"127.0.0.1:8082" desc:"address of the ops console (empty: off); it runs only with CONSOLE_USERS"`
	ConsoleUsers       string `envconfig:"CONSOLE_USERS" default:"" desc:"console accounts, name:bcrypt-hash pairs comma-separated (reconciler console-user NAME prints one; never logged)"`
	ConsoleTLSCertFile string `envconfig:"CONSOLE_TLS_CERT_FILE" default:"" desc:"serve the console over HTTPS with this certificate (PEM)"`
	ConsoleTLSKeyFile  string `envconfig:"CONSOLE_TLS_KEY_FILE" default:"" desc:"private key (PEM) for CONSOLE_TLS_CERT_FILE"`
	// Each console login costs a bcrypt comparison: these keep guessing from taking the cores.
	ConsoleLoginFailures    int           `envconfig:"CONSOLE_LOGIN_FAILURES" default:"10" desc:"failed console logins an address (the connection's IP; an IPv6 /64) may make in CONSOLE_LOGIN_WINDOW before it is answered 429 with Retry-After"`
	ConsoleLoginWindow      time.Duration `envconfig:"CONSOLE_LOGIN_WINDOW" default:"15m" desc:"how long an address's failed logins count, from its first"`
	ConsoleLoginConcurrency int           `envconfig:"CONSOLE_LOGIN_CONCURRENCY" default:"1" desc:"console password checks (bcrypt) running at once; a login that finds none free within 1s is answered 503 with Retry-After"`

	RelayInterval    time.Duration `envconfig:"RELAY_INTERVAL" default:"1s" desc:"how often the outbox is swept for events not yet published"`
	PprofAddr        string        `envconfig:"PPROF_ADDR" default:"" desc:"serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6061 (off when empty; loopback only unless PPROF_ALLOW_REMOTE)"`
	PprofAllowRemote bool          `envconfig:"PPROF_ALLOW_REMOTE" default:"false" desc:"let PPROF_ADDR be an address other machines can reach (the profiler has no authentication)"`
	ShutdownTimeout  time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s" desc:"the longest any batch may take to apply (and so how long the batch in flight may take to finish on SIGTERM)"`
	LogLevel         slog.Level    `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// validate reports every inconsistency at once, each subsystem checking its own settings.
func (c Config) validate() error {
	return errors.Join(c.Config.Validate(), c.validateConsumer(), c.validateStreams(), c.validateAparcadas(),
		c.validateVerificacion(), c.validateRegularizacion(), c.validateConsole(), c.validateMetrics(), c.validatePostgres(),
		httpapi.CheckPprofAddr(c.PprofAddr, c.PprofAllowRemote))
}

// validateConsumer checks the worker's settings: its batches and the consumer it shares.
func (c Config) validateConsumer() error {
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
	if c.MaxDeliver != -1 && c.MaxDeliver <= c.VerifyRetries {
		errs = append(errs, errors.New("CONSUMER_MAX_DELIVER must be -1 or greater than VERIFY_RETRIES, or webhooks would be dropped before they are recorded"))
	}
	if c.AckWait < time.Second {
		errs = append(errs, errors.New("CONSUMER_ACK_WAIT must be at least 1s"))
	}
	if c.Consumer == "" {
		errs = append(errs, errors.New("CONSUMER_NAME must not be empty"))
	}
	if _, err := c.decoder(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateStreams checks the streams' settings.
func (c Config) validateStreams() error {
	var errs []error
	if c.StreamReplicas < 1 {
		errs = append(errs, errors.New("STREAM_REPLICAS must be at least 1"))
	}
	if c.StreamMaxBytes != -1 && c.StreamMaxBytes < 1<<20 {
		errs = append(errs, errors.New("STREAM_MAX_BYTES must be -1 (no limit) or at least 1 MiB"))
	}
	return errors.Join(errs...)
}

// validateAparcadas checks the settings of the notifications waiting for their comprobante.
func (c Config) validateAparcadas() error {
	var errs []error
	if c.ParkedInterval <= 0 {
		errs = append(errs, errors.New("PARKED_INTERVAL must be positive"))
	}
	if c.ParkedMax < 0 {
		errs = append(errs, errors.New("PARKED_MAX must be 0 (no cap) or positive"))
	}
	if c.ParkedMaxAge <= 0 {
		errs = append(errs, errors.New("PARKED_MAX_AGE must be positive"))
	}
	return errors.Join(errs...)
}

// validateVerificacion checks VERIFY_* and the NubeFacT account it needs.
func (c Config) validateVerificacion() error {
	var errs []error
	if c.VerifyRetries < 1 {
		errs = append(errs, errors.New("VERIFY_RETRIES must be at least 1"))
	}
	if c.VerifyRate < 0 {
		errs = append(errs, errors.New("VERIFY_RATE must not be negative"))
	}
	if c.VerifyConcurrency < 1 {
		errs = append(errs, errors.New("VERIFY_CONCURRENCY must be at least 1"))
	}
	if !c.VerifyWebhooks {
		return errors.Join(errs...)
	}
	cuenta := c.NubefactRuta != "" && c.NubefactToken != ""
	if !cuenta {
		errs = append(errs, errors.New("VERIFY_WEBHOOKS needs NUBEFACT_RUTA and NUBEFACT_TOKEN"))
	}
	if c.NubefactTimeout <= 0 {
		errs = append(errs, errors.New("NUBEFACT_TIMEOUT must be positive with VERIFY_WEBHOOKS: without a timeout a stalled NubeFacT holds a batch forever"))
	}
	if cuenta && c.NubefactTimeout > 0 {
		// The client's own checks (https but on loopback...), before anything is connected.
		if _, err := nubefact.New(c.NubefactRuta, c.NubefactToken, c.NubefactTimeout); err != nil {
			errs = append(errs, fmt.Errorf("VERIFY_WEBHOOKS: %w", err))
		}
	}
	return errors.Join(errs...)
}

// validateRegularizacion checks REGULARIZE_* and the NubeFacT account the schedule needs.
func (c Config) validateRegularizacion() error {
	var errs []error
	if c.RegularizeEvery < 0 || c.RegularizeEvery > 0 && c.RegularizeEvery < time.Second {
		errs = append(errs, errors.New("REGULARIZE_EVERY must be 0 (off) or at least 1s"))
	}
	if c.RegularizeEvery > 0 && (c.NubefactRuta == "" || c.NubefactToken == "") {
		errs = append(errs, errors.New("REGULARIZE_EVERY needs NUBEFACT_RUTA and NUBEFACT_TOKEN"))
	} else if c.RegularizeEvery > 0 {
		if _, err := nubefact.New(c.NubefactRuta, c.NubefactToken, c.NubefactTimeout); err != nil {
			errs = append(errs, fmt.Errorf("REGULARIZE_EVERY: %w", err))
		}
	}
	if c.RegularizeOlderThan < 0 {
		errs = append(errs, errors.New("REGULARIZE_OLDER_THAN must not be negative"))
	}
	if c.RegularizeConcurrency < 1 || c.RegularizeConcurrency > 1024 {
		errs = append(errs, errors.New("REGULARIZE_CONCURRENCY must be between 1 and 1024"))
	}
	if c.RegularizeRate < 0 {
		errs = append(errs, errors.New("REGULARIZE_RATE must not be negative"))
	}
	if c.RegularizeMaxFailures < 0 {
		errs = append(errs, errors.New("REGULARIZE_MAX_FAILURES must not be negative"))
	}
	return errors.Join(errs...)
}

// validateConsole checks CONSOLE_*.
func (c Config) validateConsole() error {
	var errs []error
	if _, err := console.ParseUsuarios(c.ConsoleUsers); err != nil {
		errs = append(errs, err)
	}
	if c.ConsoleLoginFailures < 0 || c.ConsoleLoginWindow < 0 || c.ConsoleLoginConcurrency < 0 {
		errs = append(errs, errors.New("CONSOLE_LOGIN_FAILURES, CONSOLE_LOGIN_WINDOW and CONSOLE_LOGIN_CONCURRENCY must not be negative"))
	}
	if (c.ConsoleTLSCertFile == "") != (c.ConsoleTLSKeyFile == "") {
		errs = append(errs, errors.New("CONSOLE_TLS_CERT_FILE and CONSOLE_TLS_KEY_FILE go together"))
	}
	return errors.Join(errs...)
}

// validateMetrics checks the refresher's period and the deadline bands it counts.
func (c Config) validateMetrics() error {
	var errs []error
	if c.MetricsInterval < time.Second {
		errs = append(errs, errors.New("METRICS_INTERVAL must be at least 1s"))
	}
	if err := c.Umbrales().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validatePostgres checks that the pool has a connection for each job that holds one.
func (c Config) validatePostgres() error {
	if c.MaxConns < int32(c.Workers)+1 {
		return errors.New("DATABASE_MAX_CONNS must exceed WORKERS (the relay needs a connection too)")
	}
	if c.RegularizeEvery > 0 && c.MaxConns < int32(c.Workers)+3 {
		return errors.New("DATABASE_MAX_CONNS must be at least WORKERS + 3 with REGULARIZE_EVERY (the relay, the round's lock and its pages)")
	}
	return nil
}

// Umbrales are the deadline bands' thresholds (PLAZO_*_DIAS).
func (c Config) Umbrales() estado.Umbrales {
	return estado.Umbrales{Atencion: c.PlazoAtencionDias, Critico: c.PlazoCriticoDias, Plazo: c.PlazoDias}
}

func (c Config) streamOptions() stream.Options {
	return stream.Options{
		Replicas: c.StreamReplicas, DuplicateWindow: c.DuplicateWindow, MaxAge: c.StreamMaxAge,
		EventsDuplicateWindow: c.EventsDuplicateWindow, Consumer: c.Consumer, AckWait: c.AckWait,
		MaxDeliver: c.MaxDeliver, MaxAckPending: c.MaxAckPending, MaxBytes: c.StreamMaxBytes, DeadLetterMaxAge: c.DLQMaxAge,
	}
}

// decoder is the notification decoder ENLACE_HOSTS configures.
func (c Config) decoder() (contracts.Decoder, error) {
	d, err := contracts.NewDecoder(c.EnlaceHosts)
	if err != nil {
		return d, fmt.Errorf("ENLACE_HOSTS: %w", err)
	}
	return d, nil
}

// regularizacion is the settings of the regularizaciones the service runs (REGULARIZE_*).
func (c Config) regularizacion() programada.Options {
	return programada.Options{Every: c.RegularizeEvery, OlderThan: c.RegularizeOlderThan, Concurrency: c.RegularizeConcurrency,
		Rate: c.RegularizeRate, MaxFallasSeguidas: c.RegularizeMaxFailures}
}
