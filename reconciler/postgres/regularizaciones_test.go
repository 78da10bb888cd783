package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
)

// A run left going on by a process that died (its lock ended with its connection) is closed as
// interrumpida by the next holder of the lock, before that one's own run; a stop asked for it
// is named in its detalle.
func TestRegularizacionAbandonadaSeCierraAlTomarElCandado(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	ctx := context.Background()
	muerta, err := s.IniciarRegularizacion(ctx, estado.RegularizacionCLI, "todos los pendientes")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.PedirDetencion(ctx, muerta, "ana"); err != nil || !ok {
		t.Fatalf("PedirDetencion = %v, %v", ok, err)
	}
	if ok, err := s.PedirDetencion(ctx, muerta, "luis"); err != nil || ok {
		t.Errorf("a second PedirDetencion = %v, %v; want false (already asked)", ok, err)
	}
	if por, err := s.AvanzarRegularizacion(ctx, muerta, estado.FinDeRegularizacion{Total: 3}); err != nil || por != "ana" {
		t.Errorf("AvanzarRegularizacion says the stop was asked by %q (%v), want ana", por, err)
	}

	// Another session holds the lock: nothing runs, nothing is closed.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, postgres.ExclusionDeRegularizaciones); err != nil {
		t.Fatal(err)
	}
	ran, err := s.UnaRegularizacionALaVez(ctx, func(context.Context) error { t.Error("ran under a held lock"); return nil })
	if err != nil || ran {
		t.Fatalf("UnaRegularizacionALaVez with the lock held = %v, %v; want false", ran, err)
	}
	if r, found, err := s.RegularizacionEnCurso(ctx); err != nil || !found || r.ID != muerta {
		t.Fatalf("RegularizacionEnCurso = %+v, %v, %v; want run %d", r, found, err, muerta)
	}
	if err := conn.Hijack().Close(ctx); err != nil { // a dead process: its session, and so its lock, is gone
		t.Fatal(err)
	}

	// The server ends the closed session, and releases its lock, a moment after the client closed it.
	var viva int64
	testkit.Eventually(t, 10*time.Second, "the closed session's lock released", func() bool {
		ran, err := s.UnaRegularizacionALaVez(ctx, func(context.Context) error { return nil })
		if err != nil {
			t.Fatalf("UnaRegularizacionALaVez after the holder died: %v", err)
		}
		return ran
	})
	ran, err = s.UnaRegularizacionALaVez(ctx, func(ctx context.Context) error {
		r, _, err := s.RegularizacionPorID(ctx, muerta)
		if err != nil || r.Resultado == nil || *r.Resultado != estado.RegularizacionInterrumpida || r.TerminadaEn == nil ||
			!strings.Contains(*r.Detalle, "abandonada") || !strings.Contains(*r.Detalle, "ana") {
			t.Errorf("the abandoned run, once the lock is taken: %+v (%v); want interrumpida, abandonada, stop asked by ana", r, err)
		}
		viva, err = s.IniciarRegularizacion(ctx, estado.RegularizacionConsola, "todos los pendientes")
		return err
	})
	if err != nil || !ran {
		t.Fatalf("UnaRegularizacionALaVez with the lock free = %v, %v", ran, err)
	}
	if r, _, _ := s.RegularizacionPorID(ctx, viva); r.Resultado != nil {
		t.Errorf("the holder's own run was closed: %+v", r)
	}
}
