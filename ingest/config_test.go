package ingest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTokens(t *testing.T) {
	t.Parallel()
	const (
		a = "tokenA-0123456789abcdef"
		b = "tokenB-0123456789abcdef"
	)
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "one token", in: a, want: []string{a}},
		{name: "two tokens with spaces", in: "  " + a + " ,\t" + b + "  ", want: []string{a, b}},
		{name: "empty entries skipped", in: "," + a + ",, ," + b + ",", want: []string{a, b}},
		{name: "exactly the minimum length", in: strings.Repeat("k", MinTokenLength), want: []string{strings.Repeat("k", MinTokenLength)}},
		{name: "one character too short", in: strings.Repeat("k", MinTokenLength-1), wantErr: true},
		{name: "short token after a good one", in: a + ",short-secret", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "only separators and spaces", in: " , ,, ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTokens(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseTokens(%q) = %q, want an error", tt.in, got)
				}
				msg := err.Error()
				if !strings.Contains(msg, "WEBHOOK_TOKENS") {
					t.Errorf("error %q does not name WEBHOOK_TOKENS", msg)
				}
				// The error reaches the logs: it must not quote any entry, good or bad.
				for entry := range strings.SplitSeq(tt.in, ",") {
					if e := strings.TrimSpace(entry); e != "" && strings.Contains(msg, e) {
						t.Errorf("error %q quotes the token %q", msg, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTokens(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseTokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("token %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{PublishTimeout: time.Second, ShutdownTimeout: time.Second}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // a substring of the error; "" for no error
	}{
		{name: "plain HTTP", mutate: func(*Config) {}},
		{name: "TLS with cert and key", mutate: func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "cert.pem", "key.pem" }},
		{name: "TLS cert without key", mutate: func(c *Config) { c.TLSCertFile = "cert.pem" }, wantErr: "TLS_KEY_FILE"},
		{name: "TLS key without cert", mutate: func(c *Config) { c.TLSKeyFile = "key.pem" }, wantErr: "TLS_CERT_FILE"},
		{name: "zero publish timeout", mutate: func(c *Config) { c.PublishTimeout = 0 }, wantErr: "PUBLISH_TIMEOUT"},
		{name: "negative publish timeout", mutate: func(c *Config) { c.PublishTimeout = -time.Second }, wantErr: "PUBLISH_TIMEOUT"},
		{name: "zero shutdown timeout", mutate: func(c *Config) { c.ShutdownTimeout = 0 }, wantErr: "SHUTDOWN_TIMEOUT"},
		{name: "pprof on 127.0.0.1", mutate: func(c *Config) { c.PprofAddr = "127.0.0.1:6060" }},
		{name: "pprof on 127.0.0.2", mutate: func(c *Config) { c.PprofAddr = "127.0.0.2:6060" }},
		{name: "pprof on ::1", mutate: func(c *Config) { c.PprofAddr = "[::1]:6060" }},
		{name: "pprof on localhost", mutate: func(c *Config) { c.PprofAddr = "localhost:6060" }},
		{name: "pprof on every interface", mutate: func(c *Config) { c.PprofAddr = ":6060" }, wantErr: "PPROF_ALLOW_REMOTE"},
		{name: "pprof on 0.0.0.0", mutate: func(c *Config) { c.PprofAddr = "0.0.0.0:6060" }, wantErr: "PPROF_ALLOW_REMOTE"},
		{name: "pprof on ::", mutate: func(c *Config) { c.PprofAddr = "[::]:6060" }, wantErr: "PPROF_ALLOW_REMOTE"},
		{name: "pprof on a LAN address", mutate: func(c *Config) { c.PprofAddr = "192.168.1.10:6060" }, wantErr: "PPROF_ALLOW_REMOTE"},
		{name: "pprof on a host name", mutate: func(c *Config) { c.PprofAddr = "hotel.example:6060" }, wantErr: "PPROF_ALLOW_REMOTE"},
		{name: "pprof without a port", mutate: func(c *Config) { c.PprofAddr = "127.0.0.1" }, wantErr: "PPROF_ADDR"},
		{name: "pprof on every interface, allowed", mutate: func(c *Config) { c.PprofAddr, c.PprofAllowRemote = ":6060", true }},
		{name: "pprof on a LAN address, allowed", mutate: func(c *Config) { c.PprofAddr, c.PprofAllowRemote = "192.168.1.10:6060", true }},
		{name: "webhook rate", mutate: func(c *Config) { c.WebhookRate, c.WebhookBurst = 0.5, 1 }},
		{name: "negative webhook rate", mutate: func(c *Config) { c.WebhookRate = -1 }, wantErr: "WEBHOOK_RATE"},
		{name: "webhook rate without burst", mutate: func(c *Config) { c.WebhookRate = 1 }, wantErr: "WEBHOOK_BURST"},
		{name: "no burst without a rate", mutate: func(c *Config) { c.WebhookBurst = 0 }},
		{name: "link hosts", mutate: func(c *Config) { c.EnlaceHosts = []string{"www.nubefact.com", " *.nubefact.com ", ""} }},
		{name: "link host with a port", mutate: func(c *Config) { c.EnlaceHosts = []string{"www.nubefact.com:443"} }, wantErr: "ENLACE_HOSTS"},
		{name: "link host as a URL", mutate: func(c *Config) { c.EnlaceHosts = []string{"a.example", "https://www.nubefact.com/"} }, wantErr: "#2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := ok
			tt.mutate(&c)
			err := c.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("validate = nil, want an error naming %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("validate = %q, want it to name %s", err, tt.wantErr)
			}
		})
	}
}

func TestConfigEnlaceHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{""}, nil},
		{[]string{" www.nubefact.com", "", "*.amazonaws.com \t"}, []string{"www.nubefact.com", "*.amazonaws.com"}},
	}
	for _, tt := range tests {
		got, err := Config{EnlaceHosts: tt.in}.decoder()
		if err != nil || !slices.Equal(got.EnlaceHosts, tt.want) {
			t.Errorf("decoder(%q) = %q, %v; want %q", tt.in, got.EnlaceHosts, err, tt.want)
		}
	}
}
