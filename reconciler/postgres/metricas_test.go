package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
)

// The trigger-kept counts agree with counting the table, through inserts, changes of estado
// and of the day of issue, a row dated by its creation in Lima, and deletes.
func TestConteosSiguenALaTabla(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	hoy := estado.DiaEnLima(time.Now())
	exec(`INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
		SELECT 2, 'BCNT', g, $1::date - (g % 3) FROM generate_series(1, 30) g`, hoy.Time)
	exec(`INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, creado_en) VALUES (1, 'FCNT', 1, $1)`,
		hoy.Inicio().Add(-30*time.Minute)) // 23:30 yesterday in Lima: yesterday's
	exec(`UPDATE comprobantes SET estado = 'aceptado' WHERE numero <= 10 AND serie = 'BCNT'`)
	exec(`UPDATE comprobantes SET fecha_de_emision = fecha_de_emision - 7 WHERE numero BETWEEN 11 AND 13`)
	exec(`DELETE FROM comprobantes WHERE numero = 30`)

	foto, err := s.Fotografiar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range foto.Comprobantes {
		got = append(got, fmt.Sprintf("%d %s %d", c.Tipo, c.Estado, c.N))
	}
	var want []string
	rows, _ := pool.Query(ctx, `SELECT tipo_de_comprobante || ' ' || estado || ' ' || count(*) FROM comprobantes GROUP BY tipo_de_comprobante, estado ORDER BY 1`)
	for rows.Next() {
		var w string
		_ = rows.Scan(&w)
		want = append(want, w)
	}
	if !slices.Equal(got, want) {
		t.Errorf("counts by estado %v, the table says %v", got, want)
	}
	porDia := map[string]int64{}
	for _, p := range foto.PendientesPorDia {
		porDia[fmt.Sprintf("%d %s", p.Tipo, p.Dia.Format(time.DateOnly))] += p.N
	}
	rows, _ = pool.Query(ctx, `SELECT tipo_de_comprobante || ' ' || coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date), count(*)
		FROM comprobantes WHERE estado = 'pendiente' GROUP BY 1`)
	n := 0
	for rows.Next() {
		var k string
		var c int64
		_ = rows.Scan(&k, &c)
		n++
		if porDia[k] != c {
			t.Errorf("pending on %s: %d counted, %d in the table", k, porDia[k], c)
		}
	}
	if n != len(porDia) || porDia["1 "+hoy.Antes(1).Format(time.DateOnly)] != 1 {
		t.Errorf("pending by day %v: want %d days, the factura on yesterday's", porDia, n)
	}
	recientes, err := s.ConteosRecientes(ctx, hoy)
	if err != nil {
		t.Fatal(err)
	}
	var hoyTotal, semana int64
	for _, r := range recientes {
		hoyTotal += r.Hoy
		semana += r.Semana
	}
	// Issued today: numeros 3, 6, ..., 30 minus the deleted 30 (and 12 moved a week back).
	if hoyTotal != 8 || semana != 27 {
		t.Errorf("recent counts: %d today, %d in 7 days; want 8 and 27", hoyTotal, semana)
	}
}
