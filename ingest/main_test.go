package ingest_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/ingest"
)

func TestMainHelp(t *testing.T) {
	t.Parallel()
	for _, help := range []string{"-h", "--help", "-help"} {
		t.Run(help, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if err := ingest.Main(context.Background(), []string{"ingest", help}, &stdout, &stderr); err != nil {
				t.Fatalf("Main %s: %v", help, err)
			}
			out := stdout.String()
			for _, want := range []string{
				"Usage: ingest",
				"INGEST_ADDR", ":8080",
				"NATS_URL", "nats://127.0.0.1:4222",
				"NATS_PREFIX",
				"WEBHOOK_TOKENS",
				"PUBLISH_TIMEOUT", "3s",
				"RETRY_AFTER", "5s",
				"TRUST_PROXY",
				"ENLACE_HOSTS",
				"TLS_CERT_FILE", "TLS_KEY_FILE",
				"PPROF_ADDR", "PPROF_ALLOW_REMOTE",
				"SHUTDOWN_TIMEOUT", "20s",
				"LOG_LEVEL", "info",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s output lacks %q:\n%s", help, want, out)
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("%s wrote to stderr: %q", help, stderr.String())
			}
		})
	}
}

func TestMainUnknownFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := ingest.Main(context.Background(), []string{"ingest", "-port=1"}, &stdout, &stderr); err == nil {
		t.Fatal("Main with an unknown flag returned nil")
	}
}

// These tests change the environment, so they cannot run in parallel. Each configuration is
// wrong, so Main returns before connecting or listening.
func TestMainRequiresTokens(t *testing.T) {
	tests := []struct {
		name  string
		value *string // nil: unset
	}{
		{"unset", nil},
		{"empty", ptr("")},
		{"only commas", ptr(" , ")},
		{"too short", ptr("short")},
		{"one good, one too short", ptr("tokenA-0123456789abcdef,short")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Keep whatever the machine's environment says out of validate's way.
			t.Setenv("TLS_CERT_FILE", "")
			t.Setenv("TLS_KEY_FILE", "")
			t.Setenv("PUBLISH_TIMEOUT", "3s")
			t.Setenv("WEBHOOK_TOKENS", "")
			if tt.value == nil {
				os.Unsetenv("WEBHOOK_TOKENS") // t.Setenv restores it afterwards
			} else {
				t.Setenv("WEBHOOK_TOKENS", *tt.value)
			}
			var stdout, stderr bytes.Buffer
			err := ingest.Main(context.Background(), []string{"ingest"}, &stdout, &stderr)
			if err == nil {
				t.Fatal("Main returned nil, want a configuration error")
			}
			if !strings.Contains(err.Error(), "WEBHOOK_TOKENS") {
				t.Errorf("error %q does not name WEBHOOK_TOKENS", err)
			}
			for _, secret := range []string{"short", "0123456789abcdef"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes the token", err)
				}
			}
		})
	}
}

// ENLACE_HOSTS is read from the environment as a comma-separated list, and an entry that could
// never match stops the service before it starts.
func TestMainRejectsEnlaceHosts(t *testing.T) {
	for _, value := range []string{"www.nubefact.com,https://cdn.example.org", "www.nubefact.com:443", "*nubefact.com"} {
		t.Run(value, func(t *testing.T) {
			t.Setenv("TLS_CERT_FILE", "")
			t.Setenv("TLS_KEY_FILE", "")
			t.Setenv("PUBLISH_TIMEOUT", "3s")
			t.Setenv("SHUTDOWN_TIMEOUT", "1s")
			t.Setenv("WEBHOOK_TOKENS", tokenA)
			t.Setenv("ENLACE_HOSTS", value)
			var stdout, stderr bytes.Buffer
			err := ingest.Main(context.Background(), []string{"ingest"}, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), "ENLACE_HOSTS") {
				t.Fatalf("Main = %v, want a configuration error naming ENLACE_HOSTS", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
