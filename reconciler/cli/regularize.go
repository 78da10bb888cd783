package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/csvcell"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/reconciler/regularizacion"
	"github.com/hotelpe/boletas/reconciler/stream"
)

const regularizeUsage = `Usage: reconciler regularize [flags]

Asks NubeFacT (Operation 2, consultar_comprobante) about every pending comprobante and publishes
each final answer as a synthetic notification (origen regularizacion) for the reconciler to
apply. Running it twice is harmless; an interrupted run rerun later finishes the job.
Needs NUBEFACT_RUTA and NUBEFACT_TOKEN, DATABASE_URL and NATS_URL.

Flags:
`

// ErrNoResueltas is returned when some comprobante ended in an error: the exit status is non-zero.
var ErrNoResueltas = errors.New("some comprobantes ended in an error (see the report)")

type regularizeFlags struct {
	olderThan   string
	plazo       string
	tipo        int
	serie       string
	limit       int64
	concurrency int
	rate        float64
	dryRun      bool
	report      string
	progress    time.Duration
}

func parseRegularize(fs *flag.FlagSet, args []string) (runner, error) {
	f, err := parseRegularizeFlags(fs, args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, cfg reconciler.Config, log *slog.Logger, stdout, stderr io.Writer) error {
		return regularizeCmd(ctx, cfg, f, log, stdout, stderr)
	}, nil
}

func parseRegularizeFlags(fs *flag.FlagSet, args []string) (regularizeFlags, error) {
	var f regularizeFlags
	fs.StringVar(&f.olderThan, "older-than", "", "only comprobantes issued before this: a duration (72h, 3d) or a date (2026-11-20); by fecha_de_emision, or creation time when it is null")
	fs.StringVar(&f.plazo, "plazo", "", "only comprobantes in this SUNAT deadline band or a more urgent one: atencion, critico or vencido (days since issue in Lima, PLAZO_*_DIAS)")
	fs.IntVar(&f.tipo, "tipo", 0, "only this tipo_de_comprobante (1 factura, 2 boleta, 3 nota de crédito, 4 nota de débito)")
	fs.StringVar(&f.serie, "serie", "", "only this serie")
	fs.Int64Var(&f.limit, "limit", 0, "at most this many comprobantes (0: all)")
	fs.IntVar(&f.concurrency, "concurrency", 4, "Operation 2 calls in flight")
	fs.Float64Var(&f.rate, "rate", 5, "at most this many calls per second (0: no limit)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "call NubeFacT and print what would be published, publishing nothing")
	fs.StringVar(&f.report, "report", "", "write the comprobantes that could not be resolved (not found, errors) to this CSV file")
	fs.DurationVar(&f.progress, "progress", 0, "progress interval (default: 200ms on a terminal, 5s otherwise)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("regularize: unexpected arguments %q", fs.Args())
	case f.concurrency < 1 || f.concurrency > 1024:
		return f, errors.New("regularize: --concurrency must be between 1 and 1024")
	case f.rate < 0:
		return f, errors.New("regularize: --rate must not be negative")
	case f.limit < 0:
		return f, errors.New("regularize: --limit must not be negative")
	case f.tipo != 0 && !contracts.Tipo(f.tipo).Valid():
		return f, errors.New("regularize: --tipo must be 1, 2, 3 or 4")
	case f.plazo != "" && f.olderThan != "":
		return f, errors.New("regularize: give --plazo or --older-than, not both")
	}
	if f.plazo != "" {
		if _, err := estado.UmbralesSUNAT.DiasMinimos(estado.Plazo(f.plazo)); err != nil {
			return f, fmt.Errorf("regularize: --plazo: %w", err)
		}
	}
	return f, nil
}

// parseOlderThan reads "72h", "3d" or "2026-11-20" (midnight in Lima) as the instant before
// which to select.
func parseOlderThan(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, estado.Lima); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("regularize: --older-than %q is neither a duration (72h, 3d) nor a date (2026-11-20)", s)
	}
	return now.Add(-d), nil
}

// emitidosAntesDe is the instant before which the selected comprobantes were issued: by
// --older-than, or by --plazo, the first day of that band counted in Lima.
func (f regularizeFlags) emitidosAntesDe(u estado.Umbrales, now time.Time) (time.Time, error) {
	if f.plazo == "" {
		return parseOlderThan(f.olderThan, now)
	}
	dias, err := u.DiasMinimos(estado.Plazo(f.plazo))
	if err != nil {
		return time.Time{}, fmt.Errorf("regularize: --plazo: %w", err)
	}
	// Issued at least dias days ago: on the day dias days before today (Lima) or earlier.
	return estado.DiaEnLima(now).Antes(dias - 1).Inicio(), nil
}

func regularizeCmd(ctx context.Context, cfg reconciler.Config, f regularizeFlags, log *slog.Logger, stdout, stderr io.Writer) (err error) {
	antes, err := f.emitidosAntesDe(cfg.Umbrales(), time.Now())
	if err != nil {
		return err
	}
	client, err := nubefact.New(cfg.NubefactRuta, cfg.NubefactToken, cfg.NubefactTimeout)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	client.Retries, client.Backoff = cfg.NubefactRetries, cfg.NubefactBackoff
	pool, err := reconciler.OpenPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	obs, closeReport, err := openReport(f.report, stdout)
	if err != nil {
		return err
	}
	// The report is for the accountant: a truncated one must not pass for complete.
	defer func() {
		if rerr := closeReport(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	store := postgres.New(pool)
	r := &regularizacion.Regularizador{Source: store, Consultor: client, Observer: obs, Bitacora: store}
	if !f.dryRun {
		nc, js, err := connectOnce(cfg, "reconciler-regularize", log)
		if err != nil {
			return err
		}
		defer nc.Close()
		r.Publisher = &stream.Publisher{JS: js, Topo: contracts.Topologia{Prefijo: cfg.NATSPrefix}}
	}
	start := time.Now()
	var res regularizacion.Summary
	var runErr error
	// The lock of the schedule and the console: NubeFacT never sees two runs' calls at once.
	ran, err := store.UnaRegularizacionALaVez(ctx, func(ctx context.Context) error {
		res, runErr = withProgress(stderr, f.progress, func(c *regularizacion.Counters) (regularizacion.Summary, error) {
			return r.Run(ctx, regularizacion.Options{
				Origen: estado.RegularizacionCLI,
				Filtro: estado.Filtro{EmitidosAntesDe: antes, Tipo: f.tipo, Serie: f.serie},
				Limit:  f.limit, Concurrency: f.concurrency, Rate: f.rate, DryRun: f.dryRun,
				MaxFallasSeguidas: cfg.RegularizeMaxFailures,
			}, c)
		})
		return nil
	})
	if err != nil {
		return err
	}
	if !ran {
		return ocupado(ctx, store)
	}
	printSummary(stdout, res, time.Since(start), f.dryRun)
	return resultadoDeRegularizar(res, runErr)
}

// ErrOcupado: another regularization holds the lock; nothing was asked.
var ErrOcupado = errors.New("another regularization is running (they take turns: NubeFacT must never see two at once)")

// ocupado is the error of a run that found the lock taken, naming the run that holds it.
func ocupado(ctx context.Context, store *postgres.Store) error {
	run, found, err := store.RegularizacionEnCurso(ctx)
	if err != nil || !found {
		return fmt.Errorf("regularize: %w; try again when it ends", ErrOcupado)
	}
	return fmt.Errorf("regularize: %w: run %d (%s, started %s, %d of %d consulted); try again when it ends, or stop it from the console (Regularizaciones, Detener)",
		ErrOcupado, run.ID, run.Origen, run.IniciadaEn.In(estado.Lima).Format("2006-01-02 15:04"), run.Consultados, run.Total)
}

// openReport returns the observer that lists the dry run on stdout and, with --report, writes
// the CSV of unresolved comprobantes; close flushes and closes the report, and says if it could
// not be written whole.
func openReport(path string, stdout io.Writer) (obs *observador, close func() error, err error) {
	obs = &observador{stdout: stdout}
	if path == "" {
		return obs, func() error { return nil }, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--report: %w", err)
	}
	obs.csv = csv.NewWriter(file)
	_ = obs.csv.Write([]string{"tipo_de_comprobante", "serie", "numero", "motivo", "detalle"})
	return obs, func() error {
		obs.csv.Flush()
		if werr := errors.Join(obs.csv.Error(), file.Close()); werr != nil {
			return fmt.Errorf("--report %s: %w", path, werr)
		}
		return nil
	}, nil
}

// withProgress runs f while the progress display shows its counters every `every`.
func withProgress(stderr io.Writer, every time.Duration, f func(*regularizacion.Counters) (regularizacion.Summary, error)) (regularizacion.Summary, error) {
	var c regularizacion.Counters
	done := make(chan struct{})
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); showProgress(stderr, &c, every, done) }()
	res, err := f(&c)
	close(done)
	<-progressDone
	return res, err
}

// resultadoDeRegularizar is the command's error (its exit status) for a run that ended so.
func resultadoDeRegularizar(res regularizacion.Summary, runErr error) error {
	switch {
	case errors.Is(runErr, regularizacion.ErrCuenta):
		return fmt.Errorf("stopped: %w; %s", runErr, nubefact.QueHacer(runErr))
	case errors.Is(runErr, regularizacion.ErrSinRespuesta):
		return fmt.Errorf("stopped: %w; check that NUBEFACT_RUTA answers (NubeFacT's status, this host's network), then run it again", runErr)
	case runErr != nil:
		return runErr
	case res.Interrumpido && res.Detencion != "":
		return fmt.Errorf("interrupted: %s; run it again to finish (already published notifications are de-duplicated)", res.Detencion)
	case res.Interrumpido:
		return errors.New("interrupted: run it again to finish (already published notifications are de-duplicated)")
	case res.Errores > 0:
		return ErrNoResueltas
	}
	return nil
}

// observador writes the CSV report and the dry-run listing.
type observador struct {
	mu     sync.Mutex
	stdout io.Writer
	csv    *csv.Writer
}

func (o *observador) NoResuelto(f regularizacion.Linea) {
	if o.csv == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	c := f.Clave
	_ = o.csv.Write([]string{strconv.Itoa(c.TipoDeComprobante), c.Serie, strconv.Itoa(c.Numero), string(f.Motivo),
		csvcell.Safe(f.Detalle)})
}

func (o *observador) WouldPublish(n contracts.Notificacion, id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stdout, "would publish %s  %s\n", id, n.Resultado())
}

// showProgress redraws one line on a terminal, or logs a plain line now and then otherwise.
func showProgress(w io.Writer, c *regularizacion.Counters, every time.Duration, done <-chan struct{}) {
	tty := isTerminal(w)
	if every <= 0 {
		every = 5 * time.Second
		if tty {
			every = 200 * time.Millisecond
		}
	}
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	line := func() string {
		r := c.Summary()
		el := time.Since(start).Seconds()
		rate := float64(r.Consultados) / max(el, 1e-9)
		eta := "?"
		if rate > 0 && r.Total >= r.Consultados {
			eta = (time.Duration(float64(r.Total-r.Consultados)/rate) * time.Second).Round(time.Second).String()
		}
		return fmt.Sprintf("regularize: %d/%d consulted  %.0f/s  ETA %s  (aceptadas %d, rechazadas %d, anuladas %d, pending %d, not found %d, errors %d)",
			r.Consultados, r.Total, rate, eta, r.Aceptadas, r.Rechazadas, r.Anuladas, r.SinResultado, r.NoExiste, r.Errores)
	}
	for {
		select {
		case <-done:
			if tty {
				fmt.Fprintf(w, "\r\033[K%s\n", line())
			}
			return
		case <-t.C:
			if tty {
				fmt.Fprintf(w, "\r\033[K%s", line())
			} else {
				fmt.Fprintf(w, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line())
			}
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, r regularizacion.Summary, took time.Duration, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	title := "regularization"
	if dryRun {
		title += " (dry run: nothing published)"
	}
	if r.Interrumpido {
		title += " (interrupted)"
	}
	fmt.Fprintln(w, title)
	rows := []struct {
		k string
		v int64
	}{
		{"pending at start", r.Total}, {"consulted", r.Consultados}, {"aceptadas", r.Aceptadas},
		{"rechazadas", r.Rechazadas}, {"anuladas", r.Anuladas}, {"still pending", r.SinResultado},
		{"not found in NubeFacT", r.NoExiste}, {"errors", r.Errores}, {"published", r.Publicadas},
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "  %s\t%d\t\n", row.k, row.v)
	}
	rate := float64(r.Consultados) / max(took.Seconds(), 1e-9)
	fmt.Fprintf(tw, "  took\t%s\t\n  rate\t%.0f/s\t\n", took.Round(time.Millisecond), rate)
	_ = tw.Flush()
}
