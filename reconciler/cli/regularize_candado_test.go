package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

// regularizeSetup is a migrated database with n pending boletas BBB1-1..n and the command's
// configuration for it, with NubeFacT at ruta.
func regularizeSetup(t *testing.T, n int, ruta string) (*pgxpool.Pool, reconciler.Config) {
	t.Helper()
	pool, dsn := testkit.Pool(t, postgres.Migrate)
	if _, err := pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero)
		SELECT 2, 'BBB1', i FROM generate_series(1, $1::int) i`, n); err != nil {
		t.Fatal(err)
	}
	return pool, reconciler.Config{DatabaseURL: dsn, MaxConns: 4, NATSURL: testkit.NATSURL(t), NATSPrefix: testkit.Namespace(t).Prefijo,
		NubefactRuta: ruta, NubefactToken: "sim-token-0123456789", NubefactTimeout: 10 * time.Second,
		NubefactRetries: 1, NubefactBackoff: time.Millisecond}
}

// While another regularization holds the lock (the console's, a scheduled round, another
// command), regularize asks NubeFacT nothing, says which run holds it and exits non-zero.
func TestRegularizeRespectsTheLock(t *testing.T) {
	t.Parallel()
	sim := simulador.New("sim-token-0123456789")
	sim.PorDefecto(simulador.Aceptada)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	pool, cfg := regularizeSetup(t, 3, srv.URL+sim.Ruta)
	s := postgres.New(pool)
	ctx := context.Background()

	holding, release := make(chan int64), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := s.UnaRegularizacionALaVez(ctx, func(ctx context.Context) error {
			id, err := s.IniciarRegularizacion(ctx, "consola", "--tipo 2")
			holding <- id
			<-release
			return err
		})
		done <- err
	}()
	id := <-holding
	var out, errOut bytes.Buffer
	err := Ejecutar(ctx, cfg, []string{"regularize", "--dry-run", "--rate", "0"}, &out, &errOut)
	close(release)
	if herr := <-done; herr != nil {
		t.Fatal(herr)
	}
	if !errors.Is(err, ErrOcupado) || !strings.Contains(err.Error(), "run "+strconv.FormatInt(id, 10)) || !strings.Contains(err.Error(), "consola") {
		t.Fatalf("regularize with the lock held: %v; want ErrOcupado naming run %d from the console", err, id)
	}
	if sim.Llamadas() != 0 {
		t.Errorf("NubeFacT was asked %d times while another run held the lock", sim.Llamadas())
	}
	var runs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM regularizaciones`).Scan(&runs); err != nil || runs != 1 {
		t.Errorf("%d runs recorded (%v), want only the holder's", runs, err)
	}

	// Once the lock is free it runs (a dry run: it asks NubeFacT all the same).
	out.Reset()
	if err := Ejecutar(ctx, cfg, []string{"regularize", "--dry-run", "--rate", "0"}, &out, &errOut); err != nil {
		t.Fatalf("regularize with the lock free: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "consulted") || sim.Llamadas() != 3 {
		t.Errorf("after the lock was released: %d calls, output:\n%s", sim.Llamadas(), out.String())
	}
}

// A NubeFacT that does not answer (connections closed at once, or held without an answer until
// NUBEFACT_TIMEOUT) stops the run after REGULARIZE_MAX_FAILURES calls in a row, recorded as
// error with the reason, and frees the lock: it does not go on for hours.
func TestRegularizeStopsWhenNubefactDoesNotAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		serve func(net.Conn)
	}{
		{"connections closed", func(c net.Conn) { c.Close() }},
		{"never answers", func(c net.Conn) { t.Cleanup(func() { c.Close() }) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					tt.serve(c)
				}
			}()
			const pendientes, maxFallas = 40, 5
			pool, cfg := regularizeSetup(t, pendientes, "http://"+l.Addr().String()+"/api/v1/00000000-0000-4000-8000-000000000001")
			cfg.NubefactTimeout, cfg.RegularizeMaxFailures = 300*time.Millisecond, maxFallas
			var out, errOut bytes.Buffer
			err = Ejecutar(context.Background(), cfg, []string{"regularize", "--rate", "0", "--concurrency", "2"}, &out, &errOut)
			if !errors.Is(err, regularizacion.ErrSinRespuesta) || !strings.Contains(err.Error(), "NUBEFACT_RUTA") {
				t.Fatalf("regularize against a NubeFacT that does not answer: %v; want ErrSinRespuesta saying what to check", err)
			}
			var resultado, detalle string
			var consultados, errores int64
			if err := pool.QueryRow(context.Background(), `SELECT resultado, detalle, consultados, errores FROM regularizaciones`).
				Scan(&resultado, &detalle, &consultados, &errores); err != nil {
				t.Fatal(err)
			}
			if resultado != "error" || !strings.Contains(detalle, "does not answer") || !strings.Contains(detalle, "calls in a row got no answer") {
				t.Errorf("recorded %q (%q), want error with the reason", resultado, detalle)
			}
			// The other worker may finish the call it had in flight.
			if errores < maxFallas || consultados >= pendientes {
				t.Errorf("consulted %d with %d errors; want it stopped after %d failures, well before all %d", consultados, errores, maxFallas, pendientes)
			}
			if ran, err := postgres.New(pool).UnaRegularizacionALaVez(context.Background(), func(context.Context) error { return nil }); !ran || err != nil {
				t.Errorf("the lock is still held after the run stopped (%v)", err)
			}
		})
	}
}
