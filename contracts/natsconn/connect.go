package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// ReconnectWait is how long a service waits between two rounds of attempts to reach NATS_URL's
// servers: short, so that a restarted server or a new cluster leader is found within a second.
const ReconnectWait = 500 * time.Millisecond

// Connect connects a service, which outlives any outage of NATS: c's Options, then a first
// connection retried in the background (Connect returns at once; the service's /readyz says when
// it is up), reconnections forever every ReconnectWait, then extra (a service's own additions,
// which may override these). Its errors name what to fix: the configuration, or NATS_URL.
func Connect(url string, c Config, name, inbox string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	return connect(url, c, name, inbox, log, append([]nats.Option{
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(ReconnectWait),
	}, extra...))
}

// ConnectOnce connects a one-shot command: c's Options and nats.go's defaults otherwise, so a
// server that does not answer fails it at once instead of leaving it waiting; then extra.
func ConnectOnce(url string, c Config, name, inbox string, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	return connect(url, c, name, inbox, log, extra)
}

func connect(url string, c Config, name, inbox string, log *slog.Logger, extra []nats.Option) (*nats.Conn, error) {
	opts, err := c.Options(name, inbox, log)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: %w", err)
	}
	return nc, nil
}

// Drain drains the connection (the acknowledgements and publishes in flight go out, the
// subscriptions deliver what they hold) and waits, at most timeout, for it to close, so that a
// deferred Close does not cut the drain short. It replaces the connection's closed handler.
func Drain(nc *nats.Conn, timeout time.Duration) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		return err
	}
	select {
	case <-closed:
		return nil
	case <-time.After(timeout):
		return errors.New("timed out")
	}
}
