package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// semilla is the webhook body of the user's seed document, byte for byte.
const semilla = `{"tipo_de_comprobante":2,"serie":"BBB1","numero":105,"enlace":"https://www.nubefact.com/cpe/...","aceptada_por_sunat":true,"sunat_description":"La Boleta de Venta numero BBB1-105, ha sido aceptada","sunat_responsecode":"0","enlace_del_pdf":"https://www.nubefact.com/cpe/xxx.pdf","enlace_del_xml":"https://www.nubefact.com/cpe/xxx.xml","enlace_del_cdr":"https://www.nubefact.com/cpe/xxx.cdr","codigo_hash":"xMLFMnbgp1/bHEy572RKRTE9hPY="}`

const (
	hashSemilla = "xMLFMnbgp1/bHEy572RKRTE9hPY="
	remitente   = "203.0.113.7:51234"
)

var (
	// recibido has microseconds, the precision of timestamptz, so it survives the round trip.
	recibido = time.Date(2025, 3, 14, 15, 4, 5, 123456000, time.UTC)
	emision  = time.Date(2025, 3, 13, 0, 0, 0, 0, time.UTC)
)

// Outcomes NubeFacT reports for the seed's boleta, as changes to the seed payload.
var (
	rechazo = map[string]any{
		"aceptada_por_sunat": false, "sunat_responsecode": "2033",
		"sunat_description": "El dato ingresado en descuentos globales no cumple con el formato establecido",
	}
	anulacion = map[string]any{
		"anulado": true, "enlace_del_cdr": nil,
		"sunat_description": "La Boleta de Venta numero BBB1-105, ha sido anulada",
	}
	excepcion = map[string]any{
		"aceptada_por_sunat": false, "sunat_responsecode": "0100", "enlace_del_cdr": nil,
		"sunat_description": "El sistema no puede responder su solicitud. Intente nuevamente",
	}
	otroHash = map[string]any{"codigo_hash": "0tr0Ha5hD3OtroXMLfirmado00="}
)

// nuevoStore returns a Store on a database of tb's own, migrated and empty.
func nuevoStore(tb testing.TB) (*postgres.Store, *pgxpool.Pool) {
	tb.Helper()
	pool, _ := testkit.Pool(tb, postgres.Migrate)
	return postgres.New(pool), pool
}

// pendiente inserts a comprobante the way the billing system does when it emits it.
func pendiente(tb testing.TB, pool *pgxpool.Pool, tipo int, serie string, numero int) {
	tb.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision) VALUES ($1, $2, $3, $4)`,
		tipo, serie, numero, emision)
	if err != nil {
		tb.Fatalf("insert pendiente %d-%s-%d: %v", tipo, serie, numero, err)
	}
}

// variante is the seed payload with some fields replaced (nil makes a field null).
func variante(tb testing.TB, cambios map[string]any) []byte {
	tb.Helper()
	if len(cambios) == 0 {
		return []byte(semilla)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(semilla), &m); err != nil {
		tb.Fatal(err)
	}
	for k, v := range cambios {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// entrada decodes payload the way the reconciler's worker does and wraps it for Aplicar.
func entrada(tb testing.TB, payload []byte) estado.Recibida {
	tb.Helper()
	n, err := contracts.Decode(payload)
	if err != nil {
		tb.Fatalf("decode %s: %v", payload, err)
	}
	return estado.Recibida{
		MessageID:    contracts.MessageID(n),
		Notificacion: n,
		Payload:      payload,
		Origen:       contracts.OrigenWebhook,
		Recibido:     recibido,
		Remitente:    remitente,
		StreamSeq:    7,
		Intentos:     1,
	}
}

// aceptaciones records boletas BBB1-numero as pendiente and returns the notification of each
// one's acceptance.
func aceptaciones(tb testing.TB, pool *pgxpool.Pool, numeros ...int) []estado.Recibida {
	tb.Helper()
	out := make([]estado.Recibida, len(numeros))
	for i, n := range numeros {
		pendiente(tb, pool, 2, "BBB1", n)
		out[i] = nueva(tb, map[string]any{"numero": n})
	}
	return out
}

// nueva is entrada of a variant of the seed.
func nueva(tb testing.TB, cambios map[string]any) estado.Recibida {
	tb.Helper()
	return entrada(tb, variante(tb, cambios))
}

func aplicar(tb testing.TB, s *postgres.Store, topo contracts.Topologia, recibidas ...estado.Recibida) []estado.Veredicto {
	tb.Helper()
	veredictos, _, err := s.Aplicar(context.Background(), recibidas, topo, 0)
	if err != nil {
		tb.Fatalf("Aplicar: %v", err)
	}
	if len(veredictos) != len(recibidas) {
		tb.Fatalf("Aplicar returned %d veredictos for %d recibidas", len(veredictos), len(recibidas))
	}
	return veredictos
}

// resumen renders a Salida without its Motivo (prose for the audit, checked only for presence)
// as "aplicado pendiente→aceptado 2-BBB1-105.aceptado".
func resumen(tb testing.TB, s estado.Veredicto) string {
	tb.Helper()
	if s.Motivo == "" {
		tb.Errorf("veredicto %+v has no motivo", s)
	}
	r := fmt.Sprintf("%s %s→%s", s.Efecto, s.Anterior, s.Nuevo)
	if s.EventID != "" {
		r += " " + s.EventID
	}
	return r
}

func resumenes(tb testing.TB, veredictos []estado.Veredicto) []string {
	tb.Helper()
	out := make([]string, len(veredictos))
	for i, s := range veredictos {
		out[i] = resumen(tb, s)
	}
	return out
}

// Rows as the tests read them back.

// filaComprobante is the row as the console reads it.
type filaComprobante = estado.Comprobante

type filaAuditoria struct {
	ID                int64     `db:"id"`
	MessageID         string    `db:"message_id"`
	Origen            string    `db:"origen"`
	RecibidoEn        time.Time `db:"recibido_en"`
	Remitente         *string   `db:"remitente"`
	StreamSeq         *int64    `db:"stream_seq"`
	TipoDeComprobante int       `db:"tipo_de_comprobante"`
	Serie             string    `db:"serie"`
	Numero            int       `db:"numero"`
	Resultado         string    `db:"resultado"`
	Efecto            string    `db:"efecto"`
	EstadoAnterior    *string   `db:"estado_anterior"`
	EstadoNuevo       *string   `db:"estado_nuevo"`
	Motivo            string    `db:"motivo"`
	Payload           string    `db:"payload"`
	RegistradoEn      time.Time `db:"registrado_en"`
}

type filaOutbox struct {
	ID       int64     `db:"id"`
	EventID  string    `db:"event_id"`
	Subject  string    `db:"subject"`
	Evento   []byte    `db:"evento"`
	CreadoEn time.Time `db:"creado_en"`
	// ClaimedUntil is the relay's claim on the row, if any.
	ClaimedUntil *time.Time `db:"claimed_until"`
}

func leer[T any](tb testing.TB, pool *pgxpool.Pool, query string, args ...any) []T {
	tb.Helper()
	rows, err := pool.Query(context.Background(), query, args...)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return out
}

func comprobante(tb testing.TB, pool *pgxpool.Pool, numero int) filaComprobante {
	tb.Helper()
	filas := leer[filaComprobante](tb, pool, `SELECT * FROM comprobantes WHERE tipo_de_comprobante = 2 AND serie = 'BBB1' AND numero = $1`, numero)
	if len(filas) != 1 {
		tb.Fatalf("comprobante 2-BBB1-%d: %d rows", numero, len(filas))
	}
	return filas[0]
}

func auditoria(tb testing.TB, pool *pgxpool.Pool) []filaAuditoria {
	tb.Helper()
	return leer[filaAuditoria](tb, pool, `SELECT * FROM notificaciones ORDER BY id`)
}

func outbox(tb testing.TB, pool *pgxpool.Pool) []filaOutbox {
	tb.Helper()
	return leer[filaOutbox](tb, pool, `SELECT * FROM outbox ORDER BY id`)
}

// columna lists one text column of a table, in the order given.
func columna(tb testing.TB, pool *pgxpool.Pool, query string) []string {
	tb.Helper()
	rows, err := pool.Query(context.Background(), query)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return out
}

func efectosAuditados(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	return columna(tb, pool, `SELECT efecto FROM notificaciones ORDER BY id`)
}

func eventosEnOutbox(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	return columna(tb, pool, `SELECT event_id FROM outbox ORDER BY id`)
}

func inbox(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	return columna(tb, pool, `SELECT message_id FROM inbox ORDER BY message_id`)
}

// tablas is every table the Store writes, with the column that orders its rows.
var tablas = []struct{ nombre, orden string }{
	{"comprobantes", "id"},
	{"inbox", "message_id"},
	{"notificaciones", "id"},
	{"outbox", "id"},
	{"aparcadas", "message_id"},
}

// foto renders the content of some of the Store's tables (all of them by default) as indented
// JSON, so that "nothing changed" is one string comparison with a readable failure.
func foto(tb testing.TB, pool *pgxpool.Pool, nombres ...string) string {
	tb.Helper()
	var partes []string
	for _, t := range tablas {
		if len(nombres) == 0 || slices.Contains(nombres, t.nombre) {
			partes = append(partes, fmt.Sprintf(`'%[1]s', (SELECT coalesce(jsonb_agg(t ORDER BY t.%[2]s), '[]') FROM %[1]s t)`, t.nombre, t.orden))
		}
	}
	var s string
	q := `SELECT jsonb_pretty(jsonb_build_object(` + strings.Join(partes, ", ") + `))`
	if err := pool.QueryRow(context.Background(), q).Scan(&s); err != nil {
		tb.Fatalf("snapshot: %v", err)
	}
	return s
}

func mismaFoto(tb testing.TB, antes, despues string) {
	tb.Helper()
	if antes != despues {
		tb.Errorf("the database changed:\nbefore: %s\nafter: %s", antes, despues)
	}
}

func mismos[T comparable](tb testing.TB, que string, got, want []T) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("%s = %v, want %v", que, got, want)
	}
}

// deref shows a nullable column in messages and comparisons; null reads as "<null>".
func deref[T any](p *T) string {
	if p == nil {
		return "<null>"
	}
	return fmt.Sprint(*p)
}

func ptr[T any](v T) *T { return &v }

// mismoJSON compares two values by their JSON, which shows pointers' contents when they differ.
func mismoJSON(tb testing.TB, que string, got, want any) {
	tb.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if string(g) != string(w) {
		tb.Errorf("%s:\ngot  %s\nwant %s", que, g, w)
	}
}

func tieneFilas(tb testing.TB, pool *pgxpool.Pool, tabla string, want int) {
	tb.Helper()
	var n int
	if err := pool.QueryRow(tb.Context(), `SELECT count(*) FROM `+tabla).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	if n != want {
		tb.Errorf("%s has %d rows, want %d", tabla, n, want)
	}
}

// merge combines changes to the seed payload; later ones win.
func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
