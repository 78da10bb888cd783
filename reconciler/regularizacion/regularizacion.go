// Package regularizacion resolves comprobantes that are still pendiente by asking NubeFacT
// (Operation 2) about each and publishing the answer as a synthetic notification into the same
// subject the webhook feeds. The reconciler then applies it exactly like a webhook, with the
// same message-ID rule, so running a regularization twice, or alongside webhooks, is harmless.
package regularizacion

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/rate"
)

// Source lists pending comprobantes page by page (postgres.Store).
type Source interface {
	ContarPendientes(ctx context.Context, f estado.Filtro) (int64, error)
	Pendientes(ctx context.Context, f estado.Filtro, despuesDe int64, limit int) ([]estado.ComprobantePendiente, error)
}

// Consultor asks NubeFacT about one comprobante (nubefact.Client). Its errors say what they are
// by behaviour (nubefact.Error does): an error with Fatal() true stops the run, and its
// QueHacer() tells the operator what to fix; one with NoExiste() true means NubeFacT does not
// know the comprobante. Any other error is reported for that comprobante and the run goes on.
type Consultor interface {
	Consultar(ctx context.Context, c contracts.Clave) (contracts.Notificacion, error)
}

// fatal reports whether err, from the Consultor, concerns the account or the configuration:
// every further call would fail the same way.
func fatal(err error) bool {
	var f interface{ Fatal() bool }
	return errors.As(err, &f) && f.Fatal()
}

// transporte reports whether err, from the Consultor, is a failure to get an answer from
// NubeFacT at all (a timeout, a connection error, HTTP 5xx), after the Consultor's retries.
func transporte(err error) bool {
	var t interface{ Transporte() bool }
	return errors.As(err, &t) && t.Transporte()
}

// noExiste reports whether err, from the Consultor, says NubeFacT does not know the comprobante.
func noExiste(err error) bool {
	var n interface{ NoExiste() bool }
	return errors.As(err, &n) && n.NoExiste()
}

// Publisher publishes a synthetic notification and waits for the stream to store it.
type Publisher interface {
	Publish(ctx context.Context, n contracts.Notificacion) error
}

// Bitacora records every run (postgres.Store): its start, its counts every second while it
// goes on, each comprobante it could not resolve, and how it ended. AvanzarRegularizacion also
// says who asked to stop the run (the console's Detener, perhaps on another reconciler), or "".
type Bitacora interface {
	IniciarRegularizacion(ctx context.Context, origen, filtro string) (int64, error)
	AvanzarRegularizacion(ctx context.Context, id int64, f estado.FinDeRegularizacion) (detenidaPor string, _ error)
	NoResueltaEnRegularizacion(ctx context.Context, id int64, c contracts.Clave, motivo, detalle string) error
	TerminarRegularizacion(ctx context.Context, id int64, f estado.FinDeRegularizacion) error
}

// Options of a run.
type Options struct {
	// Origen says who started it (estado.RegularizacionCLI, Programada, Consola), for its record.
	Origen string
	// Iniciada, when set, hears the run's record id once it is recorded (the console waits for it).
	Iniciada    func(id int64)
	Filtro      estado.Filtro
	Limit       int64   // at most this many comprobantes (0: all)
	Concurrency int     // Operation 2 calls in flight
	Rate        float64 // calls per second at most (0: no limit)
	DryRun      bool    // consult, but publish nothing
	Pagina      int     // rows per page read from Postgres
	// MaxFallasSeguidas stops the run (ErrSinRespuesta) after this many consecutive calls that
	// got no answer from NubeFacT, each after the client's own retries: a NubeFacT that does not
	// answer would otherwise hold the lock for hours (0: FallasSeguidasPorDefecto).
	MaxFallasSeguidas int
}

// FallasSeguidasPorDefecto is MaxFallasSeguidas when not set (REGULARIZE_MAX_FAILURES).
const FallasSeguidasPorDefecto = 20

// Motivo is why a comprobante ends in the report of unresolved ones.
type Motivo string

const (
	MotivoNoExiste Motivo = "no_existe_en_nubefact"
	MotivoError    Motivo = "error"
)

// Linea is one line of that report.
type Linea struct {
	Clave   contracts.Clave
	Motivo  Motivo
	Detalle string
}

// Observer receives what happens, for the report, the dry-run listing and the logs. Its
// methods are called from several goroutines.
type Observer interface {
	NoResuelto(Linea)
	WouldPublish(n contracts.Notificacion, id string) // dry run only
}

// Counters are the running totals; read them with Summary while the run goes on.
type Counters struct {
	Total, Consultados, Aceptadas, Rechazadas, Anuladas, SinResultado, NoExiste, Errores, Publicadas atomic.Int64
}

// Summary is a snapshot of the totals.
type Summary struct {
	Total, Consultados, Aceptadas, Rechazadas, Anuladas, SinResultado, NoExiste, Errores, Publicadas int64
	// Interrumpido: the run was cancelled (Ctrl-C, a stop asked from the console) before it went
	// through every comprobante.
	Interrumpido bool
	// Detencion says who stopped it, when a stop was asked from the console.
	Detencion string
}

// Summary reads the counters.
func (c *Counters) Summary() Summary {
	return Summary{
		Total: c.Total.Load(), Consultados: c.Consultados.Load(), Aceptadas: c.Aceptadas.Load(),
		Rechazadas: c.Rechazadas.Load(), Anuladas: c.Anuladas.Load(), SinResultado: c.SinResultado.Load(),
		NoExiste: c.NoExiste.Load(), Errores: c.Errores.Load(), Publicadas: c.Publicadas.Load(),
	}
}

// ErrCuenta wraps a fatal NubeFacT error (token, RUTA, suspended account): the run stopped.
var ErrCuenta = errors.New("NubeFacT refused the account or configuration")

// ErrSinRespuesta: NubeFacT did not answer MaxFallasSeguidas calls in a row; the run stopped.
var ErrSinRespuesta = errors.New("NubeFacT does not answer")

// detencion is the cause of a run's cancellation when the console asked it to stop.
type detencion struct{ por string }

func (d detencion) Error() string { return "detenida desde la consola por " + d.por }

// Regularizador runs regularizations.
type Regularizador struct {
	Source    Source
	Consultor Consultor
	Publisher Publisher
	Observer  Observer
	// Bitacora, when set, records each run.
	Bitacora Bitacora
}

// Descripcion is the run's selection as the command line would write it, for its record.
func (o Options) Descripcion() string {
	var extra []string
	if o.Limit > 0 {
		extra = append(extra, "--limit "+strconv.FormatInt(o.Limit, 10))
	}
	if o.DryRun {
		extra = append(extra, "--dry-run")
	}
	return o.Filtro.Descripcion(extra...)
}

// fin is how a run that returned (res, err) ended, for its record.
func fin(res Summary, err error) estado.FinDeRegularizacion {
	f := estado.FinDeRegularizacion{Resultado: estado.RegularizacionCompleta,
		Total: res.Total, Consultados: res.Consultados, Aceptadas: res.Aceptadas, Rechazadas: res.Rechazadas,
		Anuladas: res.Anuladas, SinResultado: res.SinResultado, NoExiste: res.NoExiste, Errores: res.Errores,
		Publicadas: res.Publicadas}
	switch {
	case errors.Is(err, ErrCuenta):
		f.Resultado, f.Detalle = estado.RegularizacionErrorCuenta, err.Error()
	case err != nil:
		f.Resultado, f.Detalle = estado.RegularizacionError, err.Error()
	case res.Interrumpido:
		f.Resultado = estado.RegularizacionInterrumpida
	}
	return f
}

// Run walks the pending comprobantes and resolves each. Cancelling ctx stops it cleanly: no new
// call starts, the calls in flight are abandoned (those comprobantes are neither counted nor
// reported: the next run asks again), answers already received are still published, and the
// summary so far is returned with Interrumpido set. A fatal NubeFacT error stops it the same
// way and is returned wrapped in ErrCuenta.
//
// With a Bitacora the run is recorded: a failure to record its start stops it before any call.
func (r *Regularizador) Run(ctx context.Context, o Options, c *Counters) (res Summary, err error) {
	if r.Bitacora != nil {
		id, ierr := r.Bitacora.IniciarRegularizacion(ctx, o.Origen, o.Descripcion())
		if ierr != nil {
			return Summary{}, ierr
		}
		if o.Iniciada != nil {
			o.Iniciada(id)
		}
		// A stop asked from the console cancels runCtx: the run ends as on Ctrl-C.
		runCtx, detener := context.WithCancelCause(ctx)
		defer detener(nil)
		stop := r.avanzar(ctx, id, c, detener)
		defer func() {
			stop()
			var d detencion
			if errors.As(context.Cause(runCtx), &d) && res.Interrumpido {
				res.Detencion = d.Error()
			}
			f := fin(res, err)
			if res.Detencion != "" {
				f.Detalle = res.Detencion
			}
			if rerr := r.Bitacora.TerminarRegularizacion(context.WithoutCancel(ctx), id, f); rerr != nil && err == nil {
				err = rerr
			}
		}()
		recorded := *r
		recorded.Observer = &registrarNoResueltas{next: r.Observer, b: r.Bitacora, id: id, ctx: context.WithoutCancel(ctx)}
		return recorded.run(runCtx, o, c)
	}
	return r.run(ctx, o, c)
}

// avanzar records the counts every second until the returned stop, and calls detener when
// the record says someone asked to stop the run.
func (r *Regularizador) avanzar(ctx context.Context, id int64, c *Counters, detener context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if por, err := r.Bitacora.AvanzarRegularizacion(context.WithoutCancel(ctx), id, fin(c.Summary(), nil)); err == nil && por != "" {
					detener(detencion{por: por})
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// registrarNoResueltas records each unresolved comprobante in the Bitacora, then tells next.
type registrarNoResueltas struct {
	next Observer
	b    Bitacora
	id   int64
	ctx  context.Context
}

func (o *registrarNoResueltas) NoResuelto(f Linea) {
	_ = o.b.NoResueltaEnRegularizacion(o.ctx, o.id, f.Clave, string(f.Motivo), f.Detalle)
	if o.next != nil {
		o.next.NoResuelto(f)
	}
}

func (o *registrarNoResueltas) WouldPublish(n contracts.Notificacion, id string) {
	if o.next != nil {
		o.next.WouldPublish(n, id)
	}
}

func (r *Regularizador) run(ctx context.Context, o Options, c *Counters) (Summary, error) {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Pagina < 1 {
		o.Pagina = 1000
	}
	if o.MaxFallasSeguidas < 1 {
		o.MaxFallasSeguidas = FallasSeguidasPorDefecto
	}
	if err := r.contar(ctx, o, c); err != nil {
		return Summary{}, err
	}
	// stop ends the walk and the calls in flight on Ctrl-C or on a fatal error; a publish in
	// flight keeps its own context.
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	trabajo := make(chan contracts.Clave, o.Concurrency)
	var walkErr error
	go func() {
		defer close(trabajo)
		walkErr = r.recorrer(stop, o, trabajo)
	}()
	r.resolverTodos(stop, cancel, trabajo, o, c)

	res := c.Summary()
	// stop's own cause (a fatal error), not ctx's (Ctrl-C, a stop asked from the console).
	if cause := context.Cause(stop); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.Cause(ctx)) {
		return res, cause
	}
	if ctx.Err() != nil {
		res.Interrumpido = true
		return res, nil
	}
	return res, walkErr
}

// contar sets the run's total: the pending comprobantes the filter selects, at most o.Limit.
func (r *Regularizador) contar(ctx context.Context, o Options, c *Counters) error {
	total, err := r.Source.ContarPendientes(ctx, o.Filtro)
	if err != nil {
		return err
	}
	if o.Limit > 0 && total > o.Limit {
		total = o.Limit
	}
	c.Total.Store(total)
	return nil
}

// resolverTodos resolves the claves of trabajo with o.Concurrency workers at o.Rate calls per
// second at most; a fatal error cancels stop, after which nothing new starts.
func (r *Regularizador) resolverTodos(stop context.Context, cancel context.CancelCauseFunc, trabajo <-chan contracts.Clave, o Options, c *Counters) {
	limiter := rate.New(o.Rate)
	defer limiter.Stop()
	var fallas fallasSeguidas
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for clave := range trabajo {
				if stop.Err() != nil || limiter.Wait(stop) != nil {
					continue // drain: nothing new starts after a stop
				}
				if err := r.resolver(stop, clave, o, c, &fallas); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
}

// recorrer sends every pending comprobante, a page at a time, until the limit.
func (r *Regularizador) recorrer(ctx context.Context, o Options, out chan<- contracts.Clave) error {
	var despuesDe, enviados int64
	for {
		pagina := o.Pagina
		if o.Limit > 0 && o.Limit-enviados < int64(pagina) {
			pagina = int(o.Limit - enviados)
		}
		if pagina == 0 {
			return nil
		}
		ps, err := r.Source.Pendientes(ctx, o.Filtro, despuesDe, pagina)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, p := range ps {
			select {
			case out <- p.Clave:
			case <-ctx.Done():
				return nil
			}
		}
		enviados += int64(len(ps))
		if len(ps) < pagina {
			return nil
		}
		despuesDe = ps[len(ps)-1].ID
	}
}

// resolver consults one comprobante and publishes the answer when it is final. It returns an
// error only when the whole run must stop. A stop (ctx) abandons its call and the retries; an
// answer already obtained is still published.
func (r *Regularizador) resolver(ctx context.Context, clave contracts.Clave, o Options, c *Counters, fallas *fallasSeguidas) error {
	n, err := r.Consultor.Consultar(ctx, clave)
	if err != nil && ctx.Err() != nil && !fatal(err) {
		return nil // interrupted: not consulted, nothing reported, the next run will ask
	}
	c.Consultados.Add(1)
	ctx = context.WithoutCancel(ctx)
	seguidas := fallas.contar(transporte(err))
	switch {
	case transporte(err) && seguidas >= int64(o.MaxFallasSeguidas):
		c.Errores.Add(1)
		r.Observer.NoResuelto(Linea{Clave: clave, Motivo: MotivoError, Detalle: err.Error()})
		return fmt.Errorf("%w: %d calls in a row got no answer, the last: %w", ErrSinRespuesta, seguidas, err)
	case fatal(err):
		c.Errores.Add(1)
		r.Observer.NoResuelto(Linea{Clave: clave, Motivo: MotivoError, Detalle: err.Error()})
		return errors.Join(ErrCuenta, err)
	case noExiste(err):
		c.NoExiste.Add(1)
		r.Observer.NoResuelto(Linea{Clave: clave, Motivo: MotivoNoExiste, Detalle: err.Error()})
		return nil
	case err != nil:
		c.Errores.Add(1)
		r.Observer.NoResuelto(Linea{Clave: clave, Motivo: MotivoError, Detalle: err.Error()})
		return nil
	}
	var contador *atomic.Int64
	switch n.Resultado() {
	case contracts.Aceptado:
		contador = &c.Aceptadas
	case contracts.Rechazado:
		contador = &c.Rechazadas
	case contracts.Anulado:
		contador = &c.Anuladas
	default:
		c.SinResultado.Add(1)
		return nil // nothing final to say: counted, not published
	}
	if o.DryRun {
		r.Observer.WouldPublish(n, contracts.MessageID(n))
		contador.Add(1)
		return nil
	}
	if err := r.Publisher.Publish(ctx, n); err != nil {
		c.Errores.Add(1)
		r.Observer.NoResuelto(Linea{Clave: clave, Motivo: MotivoError, Detalle: "publish: " + err.Error()})
		return nil
	}
	contador.Add(1)
	c.Publicadas.Add(1)
	return nil
}

// fallasSeguidas counts the calls in a row that got no answer, across the run's workers: any
// answer (even an error codigo) starts the count again.
type fallasSeguidas struct{ n atomic.Int64 }

func (f *fallasSeguidas) contar(sinRespuesta bool) int64 {
	if !sinRespuesta {
		f.n.Store(0)
		return 0
	}
	return f.n.Add(1)
}
