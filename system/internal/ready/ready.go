// Package ready waits until a server answers: the tools poll what they started, with a deadline,
// instead of sleeping for a while and hoping.
package ready

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// interval is how often a server is asked again.
const interval = 50 * time.Millisecond

// HTTP waits until a GET of url answers 200 (a service's /readyz), for at most within.
func HTTP(ctx context.Context, url string, within time.Duration) error {
	return poll(ctx, url, within, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// TCP waits until addr accepts a connection, for at most within.
func TCP(ctx context.Context, addr string, within time.Duration) error {
	return poll(ctx, addr, within, func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func poll(ctx context.Context, what string, within time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", what, within, err)
		case <-t.C:
		}
	}
}
