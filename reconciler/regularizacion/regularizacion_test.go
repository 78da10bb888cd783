package regularizacion_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
)

// The real adapters (Postgres, NubeFacT's client, JetStream) are exercised by the reconciler's
// cli tests and system/e2e; these tests pin the run's own rules with in-memory stand-ins.

type fuente []estado.ComprobantePendiente

func (f fuente) ContarPendientes(context.Context, estado.Filtro) (int64, error) {
	return int64(len(f)), nil
}

func (f fuente) Pendientes(_ context.Context, _ estado.Filtro, despuesDe int64, limit int) ([]estado.ComprobantePendiente, error) {
	var out []estado.ComprobantePendiente
	for _, p := range f {
		if p.ID > despuesDe && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

// consultor answers by numero: the error in errs, or an acceptance.
type consultor struct {
	errs map[int]error
}

func (c consultor) Consultar(_ context.Context, k contracts.Clave) (contracts.Notificacion, error) {
	if err := c.errs[k.Numero]; err != nil {
		return contracts.Notificacion{}, err
	}
	si, code := true, "0"
	return contracts.Notificacion{
		TipoDeComprobante: &k.TipoDeComprobante, Serie: &k.Serie, Numero: &k.Numero,
		AceptadaPorSunat: &si, SunatResponsecode: &code,
	}, nil
}

type publicador struct {
	mu        sync.Mutex
	publicado []int
}

func (p *publicador) Publish(_ context.Context, n contracts.Notificacion) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publicado = append(p.publicado, *n.Numero)
	return nil
}

type observador struct {
	mu    sync.Mutex
	filas []regularizacion.Linea
}

func (o *observador) NoResuelto(f regularizacion.Linea) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.filas = append(o.filas, f)
}

func (o *observador) WouldPublish(contracts.Notificacion, string) {}

// providerError classifies itself by behaviour, as nubefact.Error does.
type providerError struct {
	fatal, noExiste bool
}

func (e providerError) Error() string    { return fmt.Sprintf("provider error (fatal %v)", e.fatal) }
func (e providerError) Fatal() bool      { return e.fatal }
func (e providerError) NoExiste() bool   { return e.noExiste }
func (e providerError) QueHacer() string { return "fix it" }

// sinRespuesta is a call that got no answer, classified by behaviour as nubefact.TransportError.
type sinRespuesta struct{}

func (sinRespuesta) Error() string    { return "calling NubeFacT: i/o timeout" }
func (sinRespuesta) Transporte() bool { return true }

// A run stops after MaxFallasSeguidas calls in a row without an answer; an answer in between,
// even an error codigo, starts the count again.
func TestRunStopsAfterConsecutiveTransportFailures(t *testing.T) {
	tests := []struct {
		name          string
		sinRespuesta  []int // numeros whose call gets no answer
		otros         []int // numeros NubeFacT answers with an error codigo
		want          error
		wantConsulted int64
	}{
		{"three in a row stop it", []int{2, 3, 4, 5, 6}, nil, regularizacion.ErrSinRespuesta, 4},
		{"interleaved with answers", []int{1, 2, 4, 5, 7, 8}, nil, nil, 10},
		{"an error codigo is an answer", []int{1, 2, 4, 5}, []int{3}, nil, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := map[int]error{}
			for _, n := range tt.sinRespuesta {
				errs[n] = fmt.Errorf("wrapped: %w", sinRespuesta{})
			}
			for _, n := range tt.otros {
				errs[n] = providerError{}
			}
			r := regularizacion.Regularizador{Source: pendientes(10), Consultor: consultor{errs: errs},
				Publisher: &publicador{}, Observer: &observador{}}
			res, err := r.Run(t.Context(), regularizacion.Options{Concurrency: 1, MaxFallasSeguidas: 3}, &regularizacion.Counters{})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if res.Consultados != tt.wantConsulted {
				t.Errorf("consulted %d, want %d", res.Consultados, tt.wantConsulted)
			}
		})
	}
}

func pendientes(n int) fuente {
	f := make(fuente, n)
	for i := range f {
		f[i] = estado.ComprobantePendiente{ID: int64(i + 1), Clave: contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: i + 1}}
	}
	return f
}

func TestErrorsAreClassifiedByBehaviour(t *testing.T) {
	pub, obs := &publicador{}, &observador{}
	r := regularizacion.Regularizador{
		Source: pendientes(4),
		Consultor: consultor{errs: map[int]error{
			2: fmt.Errorf("wrapped: %w", providerError{noExiste: true}),
			3: errors.New("connection reset"),
		}},
		Publisher: pub, Observer: obs,
	}
	var c regularizacion.Counters
	res, err := r.Run(t.Context(), regularizacion.Options{Concurrency: 1, Pagina: 2}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 4 || res.Consultados != 4 || res.Aceptadas != 2 || res.NoExiste != 1 || res.Errores != 1 || res.Publicadas != 2 {
		t.Errorf("summary %+v: want 4 consulted, 2 accepted and published, 1 not in NubeFacT, 1 error", res)
	}
	motivos := map[int]regularizacion.Motivo{}
	for _, f := range obs.filas {
		motivos[f.Clave.Numero] = f.Motivo
	}
	if motivos[2] != regularizacion.MotivoNoExiste || motivos[3] != regularizacion.MotivoError || len(motivos) != 2 {
		t.Errorf("unresolved %v: want 2 no_existe_en_nubefact and 3 error", motivos)
	}
}

func TestAFatalErrorStopsTheRun(t *testing.T) {
	pub := &publicador{}
	r := regularizacion.Regularizador{
		Source:    pendientes(50),
		Consultor: consultor{errs: map[int]error{1: providerError{fatal: true}}},
		Publisher: pub, Observer: &observador{},
	}
	var c regularizacion.Counters
	res, err := r.Run(t.Context(), regularizacion.Options{Concurrency: 1, Pagina: 10}, &c)
	if !errors.Is(err, regularizacion.ErrCuenta) {
		t.Fatalf("err = %v, want ErrCuenta", err)
	}
	var pe providerError
	if !errors.As(err, &pe) {
		t.Errorf("err = %v: the provider's error is not kept", err)
	}
	if res.Consultados == 50 || len(pub.publicado) == 49 {
		t.Errorf("summary %+v, %d published: the run went on after the fatal error", res, len(pub.publicado))
	}
}

type bitacora struct {
	mu          sync.Mutex
	origen      string
	filtro      string
	fines       []estado.FinDeRegularizacion
	noResueltas []string
	iniciar     error
}

func (b *bitacora) IniciarRegularizacion(_ context.Context, origen, filtro string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.origen, b.filtro = origen, filtro
	return 7, b.iniciar
}

func (b *bitacora) AvanzarRegularizacion(context.Context, int64, estado.FinDeRegularizacion) (string, error) {
	return "", nil
}

func (b *bitacora) NoResueltaEnRegularizacion(_ context.Context, _ int64, c contracts.Clave, motivo, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.noResueltas = append(b.noResueltas, c.String()+" "+motivo)
	return nil
}

func (b *bitacora) TerminarRegularizacion(_ context.Context, id int64, f estado.FinDeRegularizacion) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id != 7 {
		return fmt.Errorf("id %d, want 7", id)
	}
	b.fines = append(b.fines, f)
	return nil
}

func TestEveryRunIsRecorded(t *testing.T) {
	tests := []struct {
		name      string
		errs      map[int]error
		cancel    bool
		resultado string
	}{
		{"complete", nil, false, estado.RegularizacionCompleta},
		{"fatal", map[int]error{2: providerError{fatal: true}}, false, estado.RegularizacionErrorCuenta},
		{"cancelled", nil, true, estado.RegularizacionInterrumpida},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bitacora{}
			r := regularizacion.Regularizador{Source: pendientes(3), Consultor: consultor{errs: tt.errs},
				Publisher: &publicador{}, Observer: &observador{}, Bitacora: b}
			ctx, cancel := context.WithCancel(t.Context())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			o := regularizacion.Options{Origen: estado.RegularizacionProgramada, Concurrency: 1,
				Filtro: estado.Filtro{Tipo: 2, Serie: "BBB1"}}
			_, _ = r.Run(ctx, o, &regularizacion.Counters{})
			if b.origen != estado.RegularizacionProgramada || b.filtro != "--tipo 2 --serie BBB1" {
				t.Errorf("recorded origen %q, filtro %q", b.origen, b.filtro)
			}
			if len(b.fines) != 1 || b.fines[0].Resultado != tt.resultado {
				t.Fatalf("recorded ends %+v, want one %s", b.fines, tt.resultado)
			}
			f := b.fines[0]
			if tt.resultado == estado.RegularizacionCompleta && (f.Total != 3 || f.Aceptadas != 3 || f.Publicadas != 3 || f.Detalle != "") {
				t.Errorf("recorded %+v, want 3 accepted and published", f)
			}
			if tt.resultado == estado.RegularizacionErrorCuenta && f.Detalle == "" {
				t.Errorf("a fatal stop is recorded without its reason")
			}
			if tt.resultado == estado.RegularizacionErrorCuenta && (len(b.noResueltas) != 1 || b.noResueltas[0] != "2-BBB1-2 error") {
				t.Errorf("unresolved recorded %v, want [2-BBB1-2 error]", b.noResueltas)
			}
		})
	}
	b := &bitacora{iniciar: errors.New("postgres is down")}
	c := consultor{}
	r := regularizacion.Regularizador{Source: pendientes(3), Consultor: c, Publisher: &publicador{}, Observer: &observador{}, Bitacora: b}
	if _, err := r.Run(t.Context(), regularizacion.Options{}, &regularizacion.Counters{}); err == nil || len(b.fines) != 0 {
		t.Errorf("a run whose start could not be recorded went on (err %v)", err)
	}
}
