package cli

import (
	"bytes"
	"context"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
)

func TestMainAyudaListaVariables(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"reconciler", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"DATABASE_URL", "NATS_URL", "RECONCILER_ADDR", "CONSUMER_MAX_DELIVER", "STREAM_DUPLICATE_WINDOW", "PARKED_MAX_AGE", "VERIFY_RATE", "STREAM_MAX_BYTES", "PPROF_ALLOW_REMOTE", "replay", "parked", "discard", "migrate"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("-h does not mention %s", v)
		}
	}
	if !strings.Contains(out.String(), ":8081") {
		t.Error("-h does not show the defaults")
	}
}

func TestMainErrorsNameTheVariable(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"BATCH_SIZE", "many", "BATCH_SIZE"},
		{"CONSUMER_ACK_WAIT", "soon", "CONSUMER_ACK_WAIT"},
		{"BATCH_SIZE", "0", "BATCH_SIZE"},
		{"CONSUMER_MAX_DELIVER", "5", "CONSUMER_MAX_DELIVER"},
		{"PPROF_ADDR", ":6061", "PPROF_ADDR"},
		{"PPROF_ADDR", "0.0.0.0:6061", "PPROF_ADDR"},
		{"PPROF_ADDR", "[::]:6061", "PPROF_ADDR"},
		{"PPROF_ADDR", "192.168.1.10:6061", "PPROF_ADDR"},
		{"PPROF_ADDR", "hotel.example:6061", "PPROF_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			t.Setenv("DATABASE_URL", "postgres://user:s3cr3t-pw@127.0.0.1:1/x")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			err := Main(ctx, []string{"reconciler"}, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %s", err, tt.want)
			}
			if strings.Contains(err.Error()+errOut.String(), "s3cr3t-pw") {
				t.Error("the database password leaked into the error or the logs")
			}
		})
	}
}

// serve uses NubeFacT only with VERIFY_WEBHOOKS; then a timeout of zero is refused at start.
func TestMainVerifyWebhooksExigeNubefactTimeout(t *testing.T) {
	t.Setenv("VERIFY_WEBHOOKS", "true")
	t.Setenv("NUBEFACT_RUTA", "https://api.nubefact.com/api/v1/x")
	t.Setenv("NUBEFACT_TOKEN", "tok-serve-SECRETO")
	t.Setenv("NUBEFACT_TIMEOUT", "0")
	t.Setenv("DATABASE_URL", "postgres://user:s3cr3t-pw@127.0.0.1:1/x")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := Main(ctx, []string{"reconciler"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "NUBEFACT_TIMEOUT must be positive") {
		t.Fatalf("err = %v, want it to say NUBEFACT_TIMEOUT must be positive", err)
	}
	if strings.Contains(err.Error()+errOut.String(), "SECRETO") {
		t.Error("the NubeFacT token leaked into the error or the logs")
	}
}

// With VERIFY_WEBHOOKS, a RUTA that would send the token in clear stops serve at start, before
// Postgres or NATS are needed.
func TestMainVerifyWebhooksExigeHTTPS(t *testing.T) {
	t.Setenv("VERIFY_WEBHOOKS", "true")
	t.Setenv("NUBEFACT_RUTA", "http://api.nubefact.com/api/v1/x")
	t.Setenv("NUBEFACT_TOKEN", "tok-serve-SECRETO")
	t.Setenv("DATABASE_URL", "postgres://user:s3cr3t-pw@127.0.0.1:1/x")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := Main(ctx, []string{"reconciler"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "VERIFY_WEBHOOKS") || !strings.Contains(err.Error(), "https") {
		t.Fatalf("err = %v, want a configuration error about https", err)
	}
	if strings.Contains(err.Error()+errOut.String(), "SECRETO") {
		t.Error("the NubeFacT token leaked into the error or the logs")
	}
}

func TestMainUnknownSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Main(context.Background(), []string{"reconciler", "regularise"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "regularise") || !strings.Contains(errOut.String(), "Usage") {
		t.Fatalf("err = %v, stderr %q", err, errOut.String())
	}
}

// Every subcommand's -h prints its usage to stdout and does nothing else. Had it run: serve and
// migrate would have migrated the fresh database, check would have failed on the closed NATS
// port, parked and replay on the missing tables, regularize on the missing NubeFacT account.
func TestMainSubcommandHelp(t *testing.T) {
	dsn := testkit.Database(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("NATS_URL", "nats://127.0.0.1:1")
	t.Setenv("RECONCILER_ADDR", "127.0.0.1:0")
	t.Setenv("METRICS_ADDR", "127.0.0.1:0")
	for name := range subcommands() {
		for _, help := range []string{"-h", "--help", "-help"} {
			t.Run(name+" "+help, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var out, errOut bytes.Buffer
				if err := Main(ctx, []string{"reconciler", name, help}, &out, &errOut); err != nil {
					t.Fatalf("Main %s %s: %v\n%s", name, help, err, errOut.String())
				}
				if !strings.Contains(out.String(), "Usage: reconciler") || !strings.Contains(out.String(), name) {
					t.Errorf("stdout does not show the usage of %s:\n%s", name, out.String())
				}
				if errOut.Len() > 0 {
					t.Errorf("stderr = %q, want nothing", errOut.String())
				}
			})
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("-h left %d tables in the database (goose_db_version among them?), want none", tables)
	}
}

// The subcommands that take flags and arguments still do, through Main; a mistake prints the
// usage to stderr and returns an error, before any configuration is read.
func TestMainSubcommandFlags(t *testing.T) {
	_, dsn := testkit.Pool(t, postgres.Migrate)
	sim := simulador.New("sim-token-0123456789")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := reconciler.Config{NubefactRuta: srv.URL + sim.Ruta, NubefactToken: "sim-token-0123456789"}
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("NATS_URL", testkit.NATSURL(t))
	t.Setenv("NATS_PREFIX", testkit.Namespace(t).Prefijo)
	t.Setenv("NUBEFACT_RUTA", cfg.NubefactRuta)
	t.Setenv("NUBEFACT_TOKEN", cfg.NubefactToken)
	tests := []struct {
		args      []string
		wantOut   string // in stdout, when no error is expected
		wantErr   string // in the error
		wantUsage bool   // in stderr: a flag the flag package refused
	}{
		{args: []string{"parked", "-all"}, wantOut: "0 parked notification(s)"},
		{args: []string{"parked", "--all"}, wantOut: "0 parked notification(s)"},
		{args: []string{"replay", "-all"}, wantOut: "0 notification(s) replayed"},
		{args: []string{"regularize", "--dry-run", "--rate", "0", "--serie", "BBB1"}, wantOut: "dry run: nothing published"},
		{args: []string{"migrate"}, wantOut: "database is up to date"},
		{args: []string{"parked", "-x"}, wantErr: "-x", wantUsage: true},
		{args: []string{"parked", "BBB1"}, wantErr: "unexpected arguments"},
		{args: []string{"replay"}, wantErr: "-all"},
		{args: []string{"replay", "-all", "2-BBB1-1.aceptado.0123"}, wantErr: "-all"},
		{args: []string{"regularize", "--concurrency", "0"}, wantErr: "--concurrency"},
		{args: []string{"regularize", "--todo"}, wantErr: "todo", wantUsage: true},
		{args: []string{"migrate", "now"}, wantErr: "no arguments"},
		{args: []string{"check", "-v"}, wantErr: "-v", wantUsage: true},
		{args: []string{"serve", "--port", "1"}, wantErr: "-port", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			err := Main(ctx, append([]string{"reconciler"}, tt.args...), &out, &errOut)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out.String(), tt.wantOut) {
					t.Fatalf("Main = %v, want nil and %q in stdout:\n%s\nstderr:\n%s", err, tt.wantOut, out.String(), errOut.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Main = %v, want an error naming %q", err, tt.wantErr)
			}
			if out.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			if usage := errOut.String(); tt.wantUsage && (!strings.Contains(usage, "Usage: reconciler") || !strings.Contains(usage, tt.args[0])) {
				t.Errorf("stderr does not show the usage of %s:\n%s", tt.args[0], errOut.String())
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	got := redactURL("nats://alice:s3cretpw@127.0.0.1:4222")
	if strings.Contains(got, "s3cretpw") || !strings.Contains(got, "127.0.0.1:4222") {
		t.Errorf("redactURL = %q", got)
	}
}

func TestMigrateYCheck(t *testing.T) {
	t.Parallel()
	dsn := testkit.Database(t)
	cfg := reconciler.Config{DatabaseURL: dsn, MaxConns: 2, NATSURL: testkit.NATSURL(t)}
	var out strings.Builder
	if err := migrateCmd(context.Background(), cfg, &out); err != nil || !strings.Contains(out.String(), "applied 00001_esquema.sql") {
		t.Fatalf("first migrate: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := migrateCmd(context.Background(), cfg, &out); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := checkCmd(context.Background(), cfg, &out); err != nil || strings.Count(out.String(), " ok") != 2 {
		t.Fatalf("check with both up: %v\n%s", err, out.String())
	}
	out.Reset()
	cfg.NATSURL = "nats://alice:s3cretpw@127.0.0.1:1"
	err := checkCmd(context.Background(), cfg, &out)
	if err == nil || !strings.Contains(err.Error(), "NATS_URL") || strings.Contains(out.String()+err.Error(), "s3cretpw") {
		t.Fatalf("check with NATS missing: %v\n%s", err, out.String())
	}
}

// How `reconciler regularize` meets a NubeFacT configuration it must refuse: before any call,
// with an error that says what is wrong without quoting the token or the RUTA's account path.
func TestMainRegularizeRechazaConfiguracionNubefact(t *testing.T) {
	const (
		tok    = "tok-main-7c1d2e-SECRETO"
		cuenta = "0b7e4c9a-CUENTA-MAIN"
	)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"http RUTA on a public host",
			map[string]string{"NUBEFACT_RUTA": "http://api.nubefact.com/api/v1/" + cuenta},
			[]string{"NUBEFACT_RUTA", "https://", "in clear"}},
		{"NUBEFACT_TIMEOUT=0", map[string]string{"NUBEFACT_TIMEOUT": "0"}, []string{"NUBEFACT_TIMEOUT", "positive"}},
		{"NUBEFACT_TIMEOUT negative", map[string]string{"NUBEFACT_TIMEOUT": "-1s"}, []string{"NUBEFACT_TIMEOUT", "positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NUBEFACT_RUTA", "https://api.nubefact.com/api/v1/"+cuenta)
			t.Setenv("NUBEFACT_TOKEN", tok)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := Main(t.Context(), []string{"reconciler", "regularize", "--dry-run"}, &out, &errOut)
			if err == nil {
				t.Fatal("regularize ran; want a configuration error (a non-zero exit status)")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q: want it to mention %q", err, w)
				}
			}
			if all := err.Error() + out.String() + errOut.String(); strings.Contains(all, tok) || strings.Contains(all, cuenta) {
				t.Errorf("the token or the RUTA's account path leaked: %q", all)
			}
		})
	}
}
