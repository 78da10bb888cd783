// Package metrics is the reconciler's Prometheus surface: the counters the jobs move as they
// work (each job declares the few methods it calls), and the refresher, the job that reads the
// gauges from Postgres and JetStream every METRICS_INTERVAL.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the reconciler's Prometheus metrics, on a registry of this Run's own (several
// reconcilers run in one process in tests). Labels never carry a serie, numero, token or URL.
// A nil *Metrics (METRICS=false) counts nothing.
type Metrics struct {
	registry *prometheus.Registry

	notificaciones   *prometheus.CounterVec // efecto, origen
	batchDuration    prometheus.Histogram
	deadLetters      prometheus.Counter
	eventsPublished  *prometheus.CounterVec // type
	nubefactRequests *prometheus.CounterVec // resultado
	nubefactDuration prometheus.Histogram

	// Refreshed every METRICS_INTERVAL from Postgres and JetStream (refresh).
	comprobantes         *prometheus.GaugeVec // tipo, estado
	pendientes           *prometheus.GaugeVec // tipo, plazo
	pendienteMasAntiguo  prometheus.Gauge
	aparcadas            prometheus.Gauge
	aparcadaMasAntigua   prometheus.Gauge
	conflictos           prometheus.Gauge
	outboxPending        prometheus.Gauge
	outboxOldest         prometheus.Gauge
	consumerPending      prometheus.Gauge
	streamBytes          *prometheus.GaugeVec // stream
	streamMaxBytes       *prometheus.GaugeVec // stream
	streamMessages       *prometheus.GaugeVec // stream
	regularizaciones     *countsCollector     // resultado: counted in the regularizaciones table
	regularizacionUltima prometheus.Gauge
	refreshErrors        prometheus.Counter
	lastRefresh          prometheus.Gauge
}

// resultadosNubefact are the label values of reconciler_nubefact_requests_total.
var resultadosNubefact = []string{"ok", "no_existe", "fatal", "error", "transporte"}

// resultadosRegularizacion are the label values of reconciler_regularizaciones_total.
var resultadosRegularizacion = []string{"completa", "interrumpida", "error_cuenta", "error"}

// New registers the metrics on a registry of their own.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{registry: reg}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.notificaciones = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconciler_notifications_total",
		Help: "Notifications processed, by what applying them did (the audit's efecto) and where they came from.",
	}, []string{"efecto", "origen"})
	for _, e := range estado.Efectos {
		for _, o := range append(slices.Clone(contracts.Origenes), "otro") {
			m.notificaciones.WithLabelValues(string(e), o)
		}
	}
	m.batchDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "reconciler_batch_duration_seconds",
		Help:    "Time to apply one batch of notifications in Postgres (one transaction), retries included.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	m.deadLetters = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reconciler_dead_letters_total",
		Help: "Messages moved to the dead-letter stream (undecodable, or refused by Postgres on their own).",
	})
	m.eventsPublished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconciler_events_published_total",
		Help: "Events the relay published and JetStream acknowledged, by CloudEvents type (boleta.aceptada...).",
	}, []string{"type"})
	m.nubefactRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "reconciler_nubefact_requests_total",
		Help: "Calls to NubeFacT's Operation 2 (consultar_comprobante), by outcome: ok, no_existe (codigo 24), fatal (token, RUTA, suspended account), error (another codigo), transporte (no answer, 5xx).",
	}, []string{"resultado"})
	for _, r := range resultadosNubefact {
		m.nubefactRequests.WithLabelValues(r)
	}
	m.nubefactDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "reconciler_nubefact_request_duration_seconds",
		Help:    "Duration of one call to NubeFacT's Operation 2, retries included.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	})
	f(m.notificaciones)
	f(m.batchDuration)
	f(m.deadLetters)
	f(m.eventsPublished)
	f(m.nubefactRequests)
	f(m.nubefactDuration)

	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
		f(g)
		return g
	}
	m.comprobantes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reconciler_comprobantes",
		Help: "Comprobantes in the table, by tipo and estado.",
	}, []string{"tipo", "estado"})
	m.pendientes = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "reconciler_pendientes",
		Help: "Pending comprobantes by SUNAT deadline band (calendar days since issue in Lima): en_plazo, atencion, critico, vencido.",
	}, []string{"tipo", "plazo"})
	f(m.comprobantes)
	f(m.pendientes)
	m.pendienteMasAntiguo = gauge("reconciler_pendiente_mas_antiguo_seconds",
		"Age of the oldest pending comprobante, from the start (Lima) of its day of issue; 0 when none is pending.")
	m.aparcadas = gauge("reconciler_esperando",
		"Notifications waiting for a comprobante that is not in the table (parked).")
	m.aparcadaMasAntigua = gauge("reconciler_esperando_mas_antiguo_seconds",
		"How long the oldest parked notification has waited; 0 when none waits.")
	m.conflictos = gauge("reconciler_conflictos",
		"Conflicts in the audit (a notification contradicting a final state) not yet marked reviewed.")
	m.outboxPending = gauge("reconciler_outbox_pending", "Events written but not yet published.")
	m.outboxOldest = gauge("reconciler_outbox_oldest_seconds", "Age of the oldest unpublished event; 0 when none.")
	m.consumerPending = gauge("reconciler_consumer_pending",
		"Notifications in JetStream not yet acknowledged by the reconcilers: pending plus ack-pending.")
	streamGauge := func(name, help string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"stream"})
		f(g)
		return g
	}
	m.streamBytes = streamGauge("reconciler_stream_bytes",
		"Bytes each stream (notifications, events, dead letters) holds; a stream at its max bytes refuses new messages.")
	m.streamMaxBytes = streamGauge("reconciler_stream_max_bytes",
		"Each stream's size limit (STREAM_MAX_BYTES as the stream has it); -1 when it has none.")
	m.streamMessages = streamGauge("reconciler_stream_messages",
		"Messages each stream holds, acknowledged ones included (they stay until they age out or are purged).")
	m.regularizaciones = newCountsCollector("reconciler_regularizaciones_total",
		"Finished regularization runs (command line, schedule, console), by how they ended, as recorded in the regularizaciones table.",
		"resultado", resultadosRegularizacion)
	f(m.regularizaciones)
	m.regularizacionUltima = gauge("reconciler_regularizacion_ultima_timestamp_seconds",
		"When the last regularization run ended (Unix time); 0 when none has.")
	m.refreshErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "reconciler_metrics_refresh_errors_total",
		Help: "Failed refreshes of the gauges read from Postgres and JetStream.",
	})
	f(m.refreshErrors)
	m.lastRefresh = gauge("reconciler_metrics_refreshed_timestamp_seconds",
		"When the gauges read from Postgres and JetStream were last refreshed (Unix time).")
	return m
}

// countsCollector exposes counts kept elsewhere (rows of a table never deleted, read by the
// refresher) as a counter with one label: monotonic, which is what a counter is.
type countsCollector struct {
	desc   *prometheus.Desc
	labels []string
	mu     sync.Mutex
	counts map[string]float64
}

func newCountsCollector(name, help, label string, values []string) *countsCollector {
	return &countsCollector{desc: prometheus.NewDesc(name, help, []string{label}, nil), labels: values, counts: map[string]float64{}}
}

func (c *countsCollector) set(counts map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.labels {
		c.counts[l] = float64(counts[l])
	}
}

func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.labels {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, c.counts[l], l)
	}
}

// origenAcotado bounds the origen label to the known origins: a parked notification recorded before
// origins had subjects may carry any text its publisher wrote, and each distinct value would be a
// series of its own.
func origenAcotado(origen string) string {
	if slices.Contains(contracts.Origenes, origen) {
		return origen
	}
	return "otro"
}

// ConsolePasswordChecks exposes the console's bcrypt comparisons (console.Usuarios.Comparaciones).
func (m *Metrics) ConsolePasswordChecks(n func() uint64) {
	if m == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "reconciler_console_password_checks_total",
		Help: "bcrypt comparisons made for console logins (a remembered pair costs none): what guessing passwords costs, bounded by CONSOLE_LOGIN_*.",
	}, func() float64 { return float64(n()) }))
}

// Handler serves the registry in Prometheus' text format; without metrics (METRICS=false),
// a 404 problem.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "metrics are off (METRICS=false)"})
		})
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Auditadas counts the audit rows a committed transaction wrote. A nil *Metrics counts nothing
// (tests that build a part of the service alone).
func (m *Metrics) Auditadas(rs []estado.Registro) {
	if m == nil {
		return
	}
	// A batch has a handful of distinct (efecto, origen): one counter lookup each.
	counts := make(map[estado.Registro]int, 4)
	for _, r := range rs {
		counts[r]++
	}
	for r, n := range counts {
		m.notificaciones.WithLabelValues(string(r.Efecto), origenAcotado(r.Origen)).Add(float64(n))
	}
}

// BatchApplied observes the time a batch took to apply.
func (m *Metrics) BatchApplied(d time.Duration) {
	if m != nil {
		m.batchDuration.Observe(d.Seconds())
	}
}

// DeadLettered counts a message moved to the dead-letter stream.
func (m *Metrics) DeadLettered() {
	if m != nil {
		m.deadLetters.Inc()
	}
}

// Published counts an event JetStream acknowledged, by its type.
func (m *Metrics) Published(tipo string) {
	if m != nil {
		m.eventsPublished.WithLabelValues(tipo).Inc()
	}
}

// NubefactCall counts one call to Operation 2 (nubefact.Client.Observe).
func (m *Metrics) NubefactCall(resultado string, d time.Duration) {
	if m == nil {
		return
	}
	m.nubefactRequests.WithLabelValues(resultado).Inc()
	m.nubefactDuration.Observe(d.Seconds())
}

// Fotografo reads, in one statement, what the gauges show from Postgres (postgres.Store).
// Reading it also folds the counts the triggers append, so it runs with metrics off too.
type Fotografo interface {
	Fotografiar(ctx context.Context) (estado.Foto, error)
}

// Streams is what the refresher reads from JetStream: the consumer's backlog and each stream's
// size.
type Streams interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// Refresher sets the gauges from Postgres and JetStream every Interval.
type Refresher struct {
	M        *Metrics // nil: only fold the counts
	Store    Fotografo
	Consumer jetstream.Consumer
	JS       Streams
	Streams  []string // whose sizes it reads
	Umbrales estado.Umbrales
	Interval time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// Run refreshes at once, then every Interval, until ctx ends.
func (r *Refresher) Run(ctx context.Context) error {
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		r.refresh(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// refresh folds the counts and reads the gauges; without metrics (m nil) it only folds, so that
// the triggers' deltas never pile up.
func (r *Refresher) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	foto, err := r.Store.Fotografiar(ctx)
	if err != nil {
		if r.M != nil {
			r.M.refreshErrors.Inc()
		}
		r.Log.Warn("metrics: reading Postgres failed", "err", err)
		return
	}
	if r.M == nil {
		return
	}
	r.set(foto, r.Now())
	info, err := r.Consumer.Info(ctx)
	if err != nil {
		r.M.refreshErrors.Inc()
		r.Log.Warn("metrics: reading the consumer failed", "err", err)
		return
	}
	r.M.consumerPending.Set(float64(info.NumPending) + float64(info.NumAckPending))
	for _, name := range r.Streams {
		// Stream asks the server for the stream's info: its state is as of now.
		s, err := r.JS.Stream(ctx, name)
		if err != nil {
			r.M.refreshErrors.Inc()
			r.Log.Warn("metrics: reading a stream failed", "stream", name, "err", err)
			return
		}
		info := s.CachedInfo()
		r.M.streamBytes.WithLabelValues(name).Set(float64(info.State.Bytes))
		r.M.streamMaxBytes.WithLabelValues(name).Set(float64(info.Config.MaxBytes))
		r.M.streamMessages.WithLabelValues(name).Set(float64(info.State.Msgs))
	}
	r.M.lastRefresh.Set(float64(r.Now().Unix()))
}

// set turns a Foto into the gauges: every tipo and band is present, zero included.
func (r *Refresher) set(f estado.Foto, now time.Time) {
	m := r.M
	m.comprobantes.Reset()
	for _, c := range f.Comprobantes {
		m.comprobantes.WithLabelValues(contracts.Tipo(c.Tipo).String(), c.Estado).Set(float64(c.N))
	}
	pendientes := r.Umbrales.Contar(f.PendientesPorDia, now)
	for _, tipo := range contracts.Tipos {
		for _, plazo := range estado.Plazos {
			m.pendientes.WithLabelValues(tipo.String(), string(plazo)).Set(float64(pendientes.PorTipo[tipo][plazo]))
		}
	}
	m.pendienteMasAntiguo.Set(ageSeconds(pendientes.MasAntiguo.Inicio(), pendientes.MasAntiguo.IsZero(), now))
	m.aparcadas.Set(float64(f.Aparcadas))
	m.aparcadaMasAntigua.Set(ageSeconds(f.AparcadasDesde, f.AparcadasDesde.IsZero(), now))
	m.conflictos.Set(float64(f.Conflictos))
	m.outboxPending.Set(float64(f.Outbox))
	m.outboxOldest.Set(ageSeconds(f.OutboxOldest, f.OutboxOldest.IsZero(), now))
	m.regularizaciones.set(f.Regularizaciones)
	if !f.UltimaRegularizacion.IsZero() {
		m.regularizacionUltima.Set(float64(f.UltimaRegularizacion.Unix()))
	}
}

func ageSeconds(since time.Time, none bool, now time.Time) float64 {
	if none {
		return 0
	}
	return max(0, now.Sub(since).Seconds())
}
