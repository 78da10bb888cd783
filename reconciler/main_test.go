package reconciler

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/ingest/natstest"
	"github.com/hotelpe/boletas/reconciler/internal/testenv"
)

func TestMainAyudaListaVariables(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"reconciler", "-h"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"DATABASE_URL", "NATS_URL", "RECONCILER_ADDR", "CONSUMER_MAX_DELIVER", "STREAM_DUPLICATE_WINDOW", "UNKNOWN_RETRIES", "replay", "parked", "migrate"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("-h does not mention %s", v)
		}
	}
	if !strings.Contains(out.String(), ":8081") {
		t.Error("-h does not show the defaults")
	}
}

func TestMainErroresNombranLaVariable(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"BATCH_SIZE", "many", "BATCH_SIZE"},
		{"CONSUMER_ACK_WAIT", "soon", "CONSUMER_ACK_WAIT"},
		{"BATCH_SIZE", "0", "BATCH_SIZE"},
		{"CONSUMER_MAX_DELIVER", "5", "CONSUMER_MAX_DELIVER"},
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

func TestMainComandoDesconocido(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Main(context.Background(), []string{"reconciler", "regularise"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "regularise") || !strings.Contains(errOut.String(), "Usage") {
		t.Fatalf("err = %v, stderr %q", err, errOut.String())
	}
}

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 10 * time.Second} {
		d := backoff(attempt, time.Second, 10*time.Second)
		if d < base*8/10 || d > base*12/10 {
			t.Errorf("backoff(%d) = %v, want %v ±20%%", attempt, d, base)
		}
	}
}

// Two reconcilers share the durable consumer: every boleta is applied once, with one event.
func TestE2EDosReconciliadores(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarReconciler(s.reconcilerConfig())
	s.arrancarIngest()
	const n = 60
	for i := 1; i <= n; i++ {
		s.insertarPendiente(2, "BDS1", i)
	}
	for i := 1; i <= n; i++ {
		for range 2 { // each delivered twice
			if code, _ := s.post(aceptada("BDS1", i)); code != 200 {
				t.Fatalf("webhook %d: status %d", i, code)
			}
		}
	}
	eventually(t, 20*time.Second, "all aceptadas and relayed", func() bool {
		return s.count(`SELECT count(*) FROM comprobantes WHERE estado = 'aceptado'`) == n &&
			s.count(`SELECT count(*) FROM outbox`) == 0
	})
	if got := s.count(`SELECT count(*) FROM notificaciones WHERE efecto = 'aplicado'`); got != n {
		t.Errorf("state changes = %d, want %d", got, n)
	}
	if got := s.mensajesEnStream(s.topo.StreamEventos()); got != n {
		t.Errorf("events = %d, want %d", got, n)
	}
}

func TestConfiguracionPG(t *testing.T) {
	for code, fatal := range map[string]bool{
		"28P01": true, "28000": true, "3D000": true, "42501": true, // credentials, database, privileges
		"57P03": false, "53300": false, "57P01": false, "08006": false, // starting up, too many connections, restart
	} {
		if got := configuracionPG(code); got != fatal {
			t.Errorf("configuracionPG(%s) = %v, want %v", code, got, fatal)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := redactURL("nats://alice:s3cretpw@127.0.0.1:4222")
	if strings.Contains(got, "s3cretpw") || !strings.Contains(got, "127.0.0.1:4222") {
		t.Errorf("redactURL = %q", got)
	}
}

// A comprobante that is still unknown is not parked before UNKNOWN_PARK_AFTER, however many
// deliveries it had (an outage's redeliveries must not spend the budget early).
func TestE2ENoAparcaAntesDeTiempo(t *testing.T) {
	t.Parallel()
	s := sharedSistema(t)
	cfg := s.reconcilerConfig()
	cfg.UnknownRetries, cfg.UnknownParkAfter = 2, time.Hour
	s.arrancarReconciler(cfg)
	s.arrancarIngest()
	if code, _ := s.post(aceptada("BPA1", 1)); code != 200 {
		t.Fatalf("webhook: status %d", code)
	}
	ctx := context.Background()
	cons, err := s.js.Consumer(ctx, s.topo.StreamNotificaciones(), "reconciler")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "more deliveries than UNKNOWN_RETRIES", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumRedelivered >= 1 && info.Delivered.Consumer >= 4
	})
	if n := s.count(`SELECT count(*) FROM aparcadas`); n != 0 {
		t.Errorf("parked %d notifications before UNKNOWN_PARK_AFTER", n)
	}
	s.insertarPendiente(2, "BPA1", 1)
	eventually(t, 10*time.Second, "applied once the comprobante exists", func() bool { return s.estado("BPA1", 1) == "aceptado" })
}

func TestMigrateYCheck(t *testing.T) {
	t.Parallel()
	dsn := testenv.Database(t)
	cfg := Config{DatabaseURL: dsn, MaxConns: 2, NATSURL: natstest.URL(t)}
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
