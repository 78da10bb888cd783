package ingest_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/hotelpe/boletas/ingest"
	"github.com/hotelpe/boletas/system/testkit"
)

func TestRunServesTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := testkit.SelfSigned(t)
	addr := freeAddr(t)
	cfg := ingest.Config{
		Addr: addr, NATSURL: testkit.NATSURL(t), NATSPrefix: testkit.Namespace(t).Prefijo,
		WebhookTokens: tokenA, PublishTimeout: 2 * time.Second, RetryAfter: 5 * time.Second,
		ShutdownTimeout: 5 * time.Second, TLSCertFile: certFile, TLSKeyFile: keyFile,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ingest.Run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	var resp *http.Response
	testkit.EventuallyNoError(t, 10*time.Second, "a TLS answer", func() (err error) {
		resp, err = client.Get("https://" + addr + "/healthz")
		return err
	})
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("healthz over TLS: status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// Plain HTTP on a TLS port is refused, not served.
	resp, err := http.Get("http://" + addr + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP was served on the TLS listener")
		}
	}
}
