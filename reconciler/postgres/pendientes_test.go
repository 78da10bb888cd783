package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// filaPendiente is a comprobante as the billing system left it. Dates are at least two days from
// corte, so that the session's time zone cannot move a row across it.
type filaPendiente struct {
	tipo   int
	serie  string
	numero int
	estado string     // "" leaves it pendiente
	fecha  *time.Time // fecha_de_emision; nil is unknown
	creado *time.Time // creado_en; nil keeps now()
}

var corte = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func dia(d int) *time.Time { return ptr(time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC)) }

// cartera is the table every test of Pendientes reads; numero identifies each row.
var cartera = []filaPendiente{
	{tipo: 2, serie: "BBB1", numero: 1, fecha: dia(1)},
	{tipo: 2, serie: "BBB1", numero: 2, fecha: dia(10), estado: "aceptado"},
	{tipo: 2, serie: "BBB2", numero: 3, fecha: dia(2)},
	{tipo: 1, serie: "FFF1", numero: 4, fecha: dia(20), creado: dia(1)}, // the date, not creado_en, decides
	{tipo: 2, serie: "BBB1", numero: 5, creado: dia(3)},                 // no date: creado_en decides
	{tipo: 2, serie: "BBB1", numero: 6},                                 // no date, created now
	{tipo: 3, serie: "BBB1", numero: 7, fecha: dia(5), estado: "rechazado"},
	{tipo: 2, serie: "BBB1", numero: 8, fecha: dia(25)},
	{tipo: 2, serie: "BBB2", numero: 9, fecha: dia(4), estado: "anulado"},
	{tipo: 4, serie: "FFF1", numero: 10, fecha: dia(6)},
	{tipo: 2, serie: "BBB1", numero: 11, fecha: dia(17)},
	{tipo: 2, serie: "0001", numero: 12, creado: dia(30)},
}

// sembrar inserts filas in order and returns the id of each row by numero.
func sembrar(tb testing.TB, pool *pgxpool.Pool, filas []filaPendiente) map[int]int64 {
	tb.Helper()
	ctx := context.Background()
	ids := map[int]int64{}
	for _, f := range filas {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO comprobantes (tipo_de_comprobante, serie, numero, fecha_de_emision)
			VALUES ($1, $2, $3, $4) RETURNING id`, f.tipo, f.serie, f.numero, f.fecha).Scan(&id)
		if err != nil {
			tb.Fatalf("insert %d-%s-%d: %v", f.tipo, f.serie, f.numero, err)
		}
		ids[f.numero] = id
		if f.creado != nil {
			if _, err := pool.Exec(ctx, `UPDATE comprobantes SET creado_en = $2 WHERE id = $1`, id, *f.creado); err != nil {
				tb.Fatal(err)
			}
		}
		if f.estado != "" {
			resolver(tb, pool, id, f.estado)
		}
	}
	return ids
}

func resolver(tb testing.TB, pool *pgxpool.Pool, id int64, estado string) {
	tb.Helper()
	if _, err := pool.Exec(context.Background(), `UPDATE comprobantes SET estado = $2, estado_final_en = now() WHERE id = $1`, id, estado); err != nil {
		tb.Fatalf("resolve %d as %s: %v", id, estado, err)
	}
}

// recorrer walks Pendientes page by page the way regularization does and returns every row,
// checking that each page is in id order, continues after the last one and is not too long.
// antes runs before each page is read.
func recorrer(tb testing.TB, s *postgres.Store, f estado.Filtro, pagina int, antes func(n int)) []estado.ComprobantePendiente {
	tb.Helper()
	todos := []estado.ComprobantePendiente{}
	var ultimo int64
	for n := 0; ; n++ {
		if n > 100 {
			tb.Fatal("pagination does not end")
		}
		if antes != nil {
			antes(n)
		}
		page, err := s.Pendientes(context.Background(), f, ultimo, pagina)
		if err != nil {
			tb.Fatalf("Pendientes(%+v, %d, %d): %v", f, ultimo, pagina, err)
		}
		if len(page) > pagina {
			tb.Fatalf("page %d has %d rows, limit %d", n, len(page), pagina)
		}
		for _, p := range page {
			if p.ID <= ultimo {
				tb.Fatalf("page %d: id %d after id %d", n, p.ID, ultimo)
			}
			ultimo = p.ID
		}
		todos = append(todos, page...)
		if len(page) == 0 {
			return todos
		}
	}
}

// pendientesDe is what Pendientes should return: the rows of numeros, with their ids and keys.
func pendientesDe(tb testing.TB, ids map[int]int64, numeros ...int) []estado.ComprobantePendiente {
	tb.Helper()
	porNumero := map[int]filaPendiente{}
	for _, f := range cartera {
		porNumero[f.numero] = f
	}
	out := []estado.ComprobantePendiente{}
	for _, n := range numeros {
		f, ok := porNumero[n]
		if !ok {
			tb.Fatalf("no row with numero %d", n)
		}
		out = append(out, estado.ComprobantePendiente{ID: ids[n], Clave: contracts.Clave{TipoDeComprobante: f.tipo, Serie: f.serie, Numero: n}})
	}
	return out
}

func TestPendientesFiltrosYPaginas(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	ids := sembrar(t, pool, cartera)

	tests := []struct {
		name    string
		filtro  estado.Filtro
		numeros []int
	}{
		{"no filter", estado.Filtro{}, []int{1, 3, 4, 5, 6, 8, 10, 11, 12}},
		{"tipo 2", estado.Filtro{Tipo: 2}, []int{1, 3, 5, 6, 8, 11, 12}},
		{"tipo 1", estado.Filtro{Tipo: 1}, []int{4}},
		{"serie BBB1", estado.Filtro{Serie: "BBB1"}, []int{1, 5, 6, 8, 11}},
		{"contingency serie", estado.Filtro{Serie: "0001"}, []int{12}},
		{"serie with nothing pending", estado.Filtro{Serie: "ZZZ9"}, nil},
		{"issued before corte", estado.Filtro{EmitidosAntesDe: corte}, []int{1, 3, 5, 10}},
		{"issued before corte, boletas BBB1", estado.Filtro{EmitidosAntesDe: corte, Tipo: 2, Serie: "BBB1"}, []int{1, 5}},
		{"issued before a date in the future", estado.Filtro{EmitidosAntesDe: time.Now().Add(time.Hour)}, []int{1, 3, 4, 5, 6, 8, 10, 11, 12}},
		{"issued before the first row", estado.Filtro{EmitidosAntesDe: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := pendientesDe(t, ids, tt.numeros...)
			for _, pagina := range []int{3, 1, 100} {
				mismoJSON(t, fmt.Sprintf("walk in pages of %d", pagina), recorrer(t, s, tt.filtro, pagina, nil), want)
			}
			n, err := s.ContarPendientes(context.Background(), tt.filtro)
			if err != nil {
				t.Fatalf("ContarPendientes: %v", err)
			}
			if n != int64(len(want)) {
				t.Errorf("ContarPendientes = %d, want %d (the rows Pendientes yields)", n, len(want))
			}
		})
	}

	t.Run("after the last id", func(t *testing.T) {
		t.Parallel()
		page, err := s.Pendientes(context.Background(), estado.Filtro{}, ids[12], 3)
		if err != nil || len(page) != 0 {
			t.Errorf("Pendientes after the last id = %v, %v; want nothing", page, err)
		}
	})
}

// Rows resolved during the walk (the reconciler applies the published answers meanwhile) must not
// shift the pages: keyset pagination skips no row still pending.
func TestPendientesResueltosDuranteElRecorrido(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	ids := sembrar(t, pool, cartera)

	got := recorrer(t, s, estado.Filtro{}, 3, func(n int) {
		if n == 1 {
			// The first page (1, 3, 4) is done: resolve it and one row of the next page.
			for _, numero := range []int{1, 3, 4, 6} {
				resolver(t, pool, ids[numero], "aceptado")
			}
		}
	})
	mismoJSON(t, "walk", got, pendientesDe(t, ids, 1, 3, 4, 5, 8, 10, 11, 12))
	n, err := s.ContarPendientes(context.Background(), estado.Filtro{})
	if err != nil || n != 5 {
		t.Errorf("ContarPendientes after the walk = %d, %v; want 5", n, err)
	}
}
