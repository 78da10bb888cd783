package cli

import (
	"bytes"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/system/testkit"
)

func TestParseOlderThan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "72h", want: now.Add(-72 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "3d", want: now.AddDate(0, 0, -3)},
		{in: "0d", want: now},
		{in: "2026-11-20", want: time.Date(2026, 11, 20, 0, 0, 0, 0, estado.Lima)}, // a day is SUNAT's, in Lima,
		{in: "3x", wantErr: true},
		{in: "-5h", wantErr: true},
		{in: "-5d", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "d", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "20/11/2026", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseOlderThan(tt.in, now)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseOlderThan(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "--older-than") || !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q should name --older-than and the value %q", err, tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOlderThan(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("parseOlderThan(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// --plazo critico selects the boletas issued five or more days ago, counted in Lima.
func TestPlazoSelectsByDayInLima(t *testing.T) {
	t.Parallel()
	// 00:30 on the 29th in Lima (05:30 UTC): today is the 29th there.
	now := time.Date(2026, 11, 29, 5, 30, 0, 0, time.UTC)
	for plazo, primerDiaFuera := range map[string]string{"critico": "2026-11-25", "vencido": "2026-11-22", "atencion": "2026-11-28"} {
		got, err := regularizeFlags{plazo: plazo}.emitidosAntesDe(estado.UmbralesSUNAT, now)
		if err != nil {
			t.Fatal(err)
		}
		// Selected: issued before the start (in Lima) of the first day that is not in the band.
		want, _ := time.ParseInLocation(time.DateOnly, primerDiaFuera, estado.Lima)
		if !got.Equal(want) {
			t.Errorf("--plazo %s: issued before %v, want before %v", plazo, got, want)
		}
	}
}

func TestParseRegularizeFlags(t *testing.T) {
	t.Parallel()
	defectos := regularizeFlags{concurrency: 4, rate: 5}
	tests := []struct {
		name    string
		args    []string
		want    regularizeFlags
		wantErr string // a part of the error; "" expects none
	}{
		{name: "defaults", want: defectos},
		{name: "every flag",
			args: []string{"--older-than", "3d", "--tipo", "2", "--serie", "BBB1", "--limit", "10", "--concurrency", "8",
				"--rate", "0", "--dry-run", "--report", "no-resueltas.csv", "--progress", "1s"},
			want: regularizeFlags{olderThan: "3d", tipo: 2, serie: "BBB1", limit: 10, concurrency: 8, dryRun: true,
				report: "no-resueltas.csv", progress: time.Second}},
		{name: "single dash and =", args: []string{"-concurrency=1", "-rate=0.5"}, want: regularizeFlags{concurrency: 1, rate: 0.5}},
		{name: "largest concurrency", args: []string{"--concurrency", "1024"}, want: regularizeFlags{concurrency: 1024, rate: 5}},
		{name: "concurrency 0", args: []string{"--concurrency", "0"}, wantErr: "--concurrency"},
		{name: "concurrency 2000", args: []string{"--concurrency", "2000"}, wantErr: "--concurrency"},
		{name: "concurrency not a number", args: []string{"--concurrency", "muchos"}, wantErr: "concurrency"},
		{name: "negative rate", args: []string{"--rate", "-1"}, wantErr: "--rate"},
		{name: "negative limit", args: []string{"--limit", "-1"}, wantErr: "--limit"},
		{name: "tipo 5", args: []string{"--tipo", "5"}, wantErr: "--tipo"},
		{name: "negative tipo", args: []string{"--tipo", "-1"}, wantErr: "--tipo"},
		{name: "extra arguments", args: []string{"--dry-run", "BBB1", "105"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"--todo"}, wantErr: "todo"},
		{name: "plazo", args: []string{"--plazo", "critico"}, want: regularizeFlags{plazo: "critico", concurrency: 4, rate: 5}},
		{name: "unknown plazo", args: []string{"--plazo", "urgente"}, wantErr: "--plazo"},
		{name: "plazo and older-than", args: []string{"--plazo", "critico", "--older-than", "3d"}, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			fs := flag.NewFlagSet("regularize", flag.ContinueOnError)
			fs.SetOutput(&stderr)
			got, err := parseRegularizeFlags(fs, tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseRegularizeFlags(%q) error = %v, want one mentioning %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRegularizeFlags(%q): %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("parseRegularizeFlags(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
		})
	}
}

func TestProgressWithoutTerminalWritesLines(t *testing.T) {
	t.Parallel()
	var c regularizacion.Counters
	c.Total.Store(10)
	c.Consultados.Store(4)
	var buf lineas
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() { showProgress(&buf, &c, 5*time.Millisecond, done); close(finished) }()
	// Wait for two periodic lines (however slow the machine), then stop.
	testkit.Eventually(t, 10*time.Second, "two progress lines", func() bool { return strings.Count(buf.String(), "\n") >= 2 })
	close(done)
	<-finished
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "4/10 consulted") || strings.Contains(buf.String(), "\r") {
		t.Fatalf("want plain periodic lines with done/total and no carriage returns, got %q", buf.String())
	}
}

// lineas is a strings.Builder safe for one writer and one reader.
type lineas struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineas) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineas) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
