package postgres

import (
	"context"
	"time"

	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

// filtroSQL selects by estado.Filtro. A fecha_de_emision is a day in Lima (SUNAT's clock):
// it begins at midnight there, whatever the server's time zone.
const filtroSQL = `estado = 'pendiente'
	AND ($1::timestamptz IS NULL OR coalesce(fecha_de_emision::timestamp AT TIME ZONE 'America/Lima', creado_en) < $1)
	AND ($2::smallint IS NULL OR tipo_de_comprobante = $2)
	AND ($3::text IS NULL OR serie = $3)`

func filtroArgs(f estado.Filtro) []any {
	var antes *time.Time
	var tipo *int
	var serie *string
	if !f.EmitidosAntesDe.IsZero() {
		antes = &f.EmitidosAntesDe
	}
	if f.Tipo != 0 {
		tipo = &f.Tipo
	}
	if f.Serie != "" {
		serie = &f.Serie
	}
	return []any{antes, tipo, serie}
}

// ContarPendientes counts the comprobantes Pendientes would return.
func (s *Store) ContarPendientes(ctx context.Context, f estado.Filtro) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM comprobantes WHERE `+filtroSQL, filtroArgs(f)...).Scan(&n)
	return n, wrap("count pending", err)
}

// Pendientes returns up to limit pending comprobantes with id greater than despuesDe, in id
// order: keyset pagination, so a walk over millions of rows holds one page at a time and rows
// resolved meanwhile do not shift the pages.
func (s *Store) Pendientes(ctx context.Context, f estado.Filtro, despuesDe int64, limit int) ([]estado.ComprobantePendiente, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tipo_de_comprobante, serie, numero FROM comprobantes
		WHERE `+filtroSQL+` AND id > $4 ORDER BY id LIMIT $5`, append(filtroArgs(f), despuesDe, limit)...)
	if err != nil {
		return nil, wrap("list pending", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.ComprobantePendiente, error) {
		var p estado.ComprobantePendiente
		var tipo int16
		err := r.Scan(&p.ID, &tipo, &p.Clave.Serie, &p.Clave.Numero)
		p.Clave.TipoDeComprobante = int(tipo)
		return p, err
	})
	return out, wrap("list pending", err)
}
