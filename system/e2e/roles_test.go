package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/system/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// candadoRoles serialises the tests that apply roles.sql: roles are cluster-wide, and the lock
// is taken in the admin database, which every test database shares.
const candadoRoles int64 = 0x626f6c6574617302

// aplicarRoles runs deploy/postgres/roles.sql on the database of dsn, as ops do with psql.
func aplicarRoles(tb testing.TB, dsn string) {
	tb.Helper()
	sql, err := os.ReadFile("../../deploy/postgres/roles.sql")
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, testkit.AdminURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, candadoRoles); err != nil {
		tb.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, string(sql)); err != nil {
		tb.Fatalf("roles.sql: %v", err)
	}
}

// comoRol is dsn connecting as role: the test's superuser switches to it at connection start
// (as SET ROLE would), so that every privilege check is role's.
func comoRol(tb testing.TB, dsn, role string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("options", "-c role="+role)
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself, not as a space
	return u.String()
}

// The roles of deploy/postgres/roles.sql: the reconciler, migrating and running as
// boletas_reconciler, applies a webhook to a comprobante the billing system inserted as
// boletas_facturacion with the documented INSERT; the billing system cannot change estado, the
// audit or anything else; reports read and write nothing.
func TestRolesDePostgres(t *testing.T) {
	t.Parallel()
	dsn := testkit.Database(t)
	aplicarRoles(t, dsn) // 1. before the schema exists: the roles, the schema's grants
	ctx := context.Background()
	// 2. The reconciler migrates it on start, as boletas_reconciler.
	s := newPipeline(t, pipelineOptions{database: dsn, prepare: func(p *pipeline) {
		p.cfg.DatabaseURL = comoRol(t, dsn, "boletas_reconciler")
	}})
	aplicarRoles(t, dsn) // 3. the grants on the tables; twice: it is idempotent
	aplicarRoles(t, dsn)

	var ajenos int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace
		AND relkind IN ('r', 'S') AND pg_get_userbyid(relowner) <> 'boletas_reconciler'`).Scan(&ajenos); err != nil || ajenos != 0 {
		t.Errorf("%d tables or sequences not owned by boletas_reconciler (%v)", ajenos, err)
	}

	facturacion := conectar(t, comoRol(t, dsn, "boletas_facturacion"))
	// The billing system's INSERT, as README documents it.
	if _, err := facturacion.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		VALUES (2, 'BBB1', 105, '2026-11-24')`); err != nil {
		t.Fatalf("the documented INSERT as boletas_facturacion: %v", err)
	}
	if code, _ := s.post(seed(t)); code != http.StatusOK {
		t.Fatalf("webhook: status %d, want 200", code)
	}
	testkit.Eventually(t, 10*time.Second, "the billing system's row aceptado", func() bool {
		var e string
		err := facturacion.QueryRow(ctx, `SELECT estado FROM comprobantes WHERE serie = 'BBB1' AND numero = 105`).Scan(&e)
		return err == nil && e == "aceptado"
	})
	// A notification waiting for a comprobante the billing system inserts later: its INSERT's
	// trigger marks it ready (as the trigger's owner) and the reconciler applies it.
	if code, _ := s.post(aceptada("BBB1", 106)); code != http.StatusOK {
		t.Fatalf("webhook: status %d, want 200", code)
	}
	testkit.Eventually(t, 10*time.Second, "the notification parked", func() bool {
		return s.count(`SELECT count(*) FROM aparcadas`) == 1
	})
	if _, err := facturacion.Exec(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		VALUES (2, 'BBB1', 106, '2026-11-24') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatalf("INSERT ... ON CONFLICT DO NOTHING as boletas_facturacion: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "the parked notification applied", func() bool { return s.estado("BBB1", 106) == "aceptado" })

	lectura := conectar(t, comoRol(t, dsn, "boletas_lectura"))
	for _, tt := range []struct {
		who  *pgx.Conn
		name string
		sql  string
	}{
		{facturacion, "facturacion sets estado", `UPDATE comprobantes SET estado = 'aceptado' WHERE numero = 105`},
		{facturacion, "facturacion inserts estado", `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, estado) VALUES (2, 'BBB1', 107, 'aceptado')`},
		{facturacion, "facturacion inserts a hash", `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, codigo_hash) VALUES (2, 'BBB1', 108, 'x=')`},
		{facturacion, "facturacion inserts a CDR link", `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, enlace_del_cdr) VALUES (2, 'BBB1', 109, 'https://evil.example/x.cdr')`},
		{facturacion, "facturacion updates its own columns", `UPDATE comprobantes SET fecha_de_emision = '2026-11-25' WHERE numero = 105`},
		{facturacion, "facturacion deletes a comprobante", `DELETE FROM comprobantes WHERE numero = 105`},
		{facturacion, "facturacion truncates", `TRUNCATE comprobantes`},
		{facturacion, "facturacion deletes the audit", `DELETE FROM notificaciones`},
		{facturacion, "facturacion reads the audit", `SELECT count(*) FROM notificaciones`},
		{facturacion, "facturacion writes the outbox", `INSERT INTO outbox (event_id, subject, evento) VALUES ('x', 'y', '{}')`},
		{facturacion, "facturacion writes the inbox", `INSERT INTO inbox (message_id) VALUES ('x')`},
		{facturacion, "facturacion reads aparcadas", `SELECT count(*) FROM aparcadas`},
		{facturacion, "facturacion records a run", `INSERT INTO regularizaciones (origen, filtro) VALUES ('cli', 'x')`},
		{facturacion, "facturacion records an action", `INSERT INTO acciones (usuario, accion, objeto, resultado) VALUES ('x', 'x', 'x', 'ok')`},
		{facturacion, "facturacion creates a table", `CREATE TABLE mia (x int)`},
		{lectura, "lectura inserts a comprobante", `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero) VALUES (2, 'BBB1', 110)`},
		{lectura, "lectura updates", `UPDATE comprobantes SET estado = 'anulado'`},
		{lectura, "lectura creates a table", `CREATE TABLE mia (x int)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.who.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Errorf("%s: err %v, want permission denied (SQLSTATE 42501)", tt.sql, err)
			}
		})
	}
	var n int
	if err := lectura.QueryRow(ctx, `SELECT (SELECT count(*) FROM comprobantes) + (SELECT count(*) FROM notificaciones)
		+ (SELECT count(*) FROM regularizaciones)`).Scan(&n); err != nil || n < 4 {
		t.Errorf("boletas_lectura reading the tables: %d rows, %v", n, err)
	}
	if e := s.estado("BBB1", 105); e != "aceptado" {
		t.Errorf("after the refused statements BBB1-105 is %s", e)
	}
	if got := s.column(`SELECT serie || '-' || numero FROM comprobantes ORDER BY numero`); strings.Join(got, ",") != "BBB1-105,BBB1-106" {
		t.Errorf("comprobantes = %v, want only the two inserted", got)
	}
}

func conectar(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
