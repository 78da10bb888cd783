// Package ingest is the HTTP service that receives NubeFacT's webhooks and stores them durably
// in JetStream before answering 200.
package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/contracts/natsconn"
	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const usageHeader = `ingest receives NubeFacT's webhooks on POST /webhooks/nubefact, validates them and
publishes them to JetStream, answering 200 only once the stream has stored them.

Usage: ingest [-h]

Configuration comes from the environment:

`

const usageFormat = "VARIABLE\tTYPE\tDEFAULT\tREQUIRED\tDESCRIPTION\n" +
	"{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_required .}}\t{{usage_description .}}\n{{end}}"

// Main is the whole program: it reads the configuration from the environment, handles -h, and
// runs the service until SIGINT or SIGTERM.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stdout, usageHeader)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		_ = envconfig.Usagef("", &Config{}, tw, usageFormat)
		_ = tw.Flush()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var cfg Config
	if err := envconfig.Process("", &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "ingest")
	return Run(ctx, cfg, log)
}

// MaxHeader caps a request's line and headers on every listener (httpapi.MaxHeader).
const MaxHeader = httpapi.MaxHeader

// Run serves until ctx is cancelled, then shuts down gracefully: it stops accepting, lets the
// requests in flight finish (each still waits for its acknowledgement) and drains NATS.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	tokens, err := ParseTokens(cfg.WebhookTokens)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	decoder, err := cfg.decoder()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	topo := contracts.Topologia{Prefijo: cfg.NATSPrefix}

	// With no reconnect buffer a publish while disconnected fails at once instead of sitting in
	// a buffer: the webhook's publish retries it (see publish) until the connection is back on
	// another server or PUBLISH_TIMEOUT passes, then answers 503.
	nc, err := natsconn.Connect(cfg.NATSURL, cfg.Config, "ingest", "ingest", log, nats.ReconnectBufSize(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	var m *metrics
	if cfg.MetricsAddr != "" {
		m = newMetrics(len(tokens))
	}
	handler := routes(webhookDeps{
		js: js, decoder: decoder,
		topo:   topo,
		tokens: newTokenSet(tokens), limits: newTokenLimits(len(tokens), cfg.WebhookRate, cfg.WebhookBurst),
		timeout: cfg.PublishTimeout, retryAfter: cfg.RetryAfter,
		trustProxy: cfg.TrustProxy, log: log, metrics: m,
	}, nc, js)

	httpapi.StartPprof(cfg.PprofAddr, log)
	if m != nil {
		msrv := httpapi.NewServer(m.handler(), 30*time.Second, log)
		if _, err := httpapi.Serve(msrv, cfg.MetricsAddr, "METRICS_ADDR", "", ""); err != nil {
			return err
		}
		defer msrv.Close()
		log.Info("metrics listening", "addr", msrv.Addr)
	}
	srv := httpapi.NewServer(logRequests(handler, log), cfg.PublishTimeout+30*time.Second, log)
	serveErr, err := httpapi.Serve(srv, cfg.Addr, "INGEST_ADDR", cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return err
	}
	log.Info("ingest listening", "addr", srv.Addr, "tls", cfg.TLSCertFile != "",
		"subject", topo.SubjectNotificacion(contracts.OrigenWebhook), "nats_identity", cfg.Identity(), "tokens", len(tokens),
		"enlace_hosts", decoder.EnlaceHosts, "webhook_rate", cfg.WebhookRate, "webhook_burst", cfg.WebhookBurst)

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight webhooks")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	if err := natsconn.Drain(nc, cfg.ShutdownTimeout); err != nil {
		log.Error("nats drain", "err", err)
	}
	log.Info("stopped")
	return nil
}

// logRequests logs each request's method, path, status and duration. Never the query string:
// it may carry the webhook token.
func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	if !log.Enabled(context.Background(), slog.LevelDebug) {
		return next // nothing to log: no wrapper on the hot path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and MaxBytesReader's "close after 413") reach the
// underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
