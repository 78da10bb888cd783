package postgres

import (
	"context"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

// foldCounts moves the deltas the triggers appended into comprobantes_conteo. Concurrent folds
// (several reconcilers) each take the deltas they deleted: none is counted twice.
const foldCounts = `WITH d AS (DELETE FROM comprobantes_conteo_deltas RETURNING tipo_de_comprobante, estado, dia, n)
INSERT INTO comprobantes_conteo
SELECT tipo_de_comprobante, estado, dia, sum(n) FROM d GROUP BY 1, 2, 3
ON CONFLICT (tipo_de_comprobante, estado, dia) DO UPDATE SET n = comprobantes_conteo.n + EXCLUDED.n`

// Fotografiar reads a Foto in one round trip.
func (s *Store) Fotografiar(ctx context.Context) (estado.Foto, error) {
	var f estado.Foto
	f.Regularizaciones = map[string]int64{}
	b := &pgx.Batch{}
	b.Queue(foldCounts)
	b.Queue(`DELETE FROM comprobantes_conteo WHERE n = 0`)
	b.Queue(`SELECT tipo_de_comprobante, estado, sum(n)::bigint FROM comprobantes_conteo GROUP BY 1, 2 ORDER BY 1, 2`).Query(func(rows pgx.Rows) error {
		var err error
		f.Comprobantes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.ConteoEstado, error) {
			var c estado.ConteoEstado
			var tipo int16
			err := r.Scan(&tipo, &c.Estado, &c.N)
			c.Tipo = int(tipo)
			return c, err
		})
		return err
	})
	b.Queue(`SELECT tipo_de_comprobante, dia, n FROM comprobantes_conteo WHERE estado = 'pendiente'`).Query(func(rows pgx.Rows) error {
		var err error
		f.PendientesPorDia, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.PendientesDia, error) {
			var p estado.PendientesDia
			var tipo int16
			var dia time.Time
			err := r.Scan(&tipo, &dia, &p.N)
			p.Tipo, p.Dia = contracts.Tipo(tipo), estado.DiaDeFecha(dia)
			return p, err
		})
		return err
	})
	b.Queue(`SELECT count(*), min(aparcada_en) FROM aparcadas WHERE NOT lista`).QueryRow(func(r pgx.Row) error {
		var desde *time.Time
		err := r.Scan(&f.Aparcadas, &desde)
		if desde != nil {
			f.AparcadasDesde = *desde
		}
		return err
	})
	b.Queue(`SELECT count(*) FROM notificaciones n WHERE efecto = 'conflicto'
		AND NOT EXISTS (SELECT 1 FROM conflictos_revisados r WHERE r.notificacion_id = n.id)`).QueryRow(func(r pgx.Row) error {
		return r.Scan(&f.Conflictos)
	})
	b.Queue(`SELECT count(*), min(creado_en) FROM outbox`).QueryRow(func(r pgx.Row) error {
		var desde *time.Time
		err := r.Scan(&f.Outbox, &desde)
		if desde != nil {
			f.OutboxOldest = *desde
		}
		return err
	})
	b.Queue(`SELECT resultado, count(*) FROM regularizaciones WHERE resultado IS NOT NULL GROUP BY 1`).Query(func(rows pgx.Rows) error {
		var resultado string
		var n int64
		_, err := pgx.ForEachRow(rows, []any{&resultado, &n}, func() error {
			f.Regularizaciones[resultado] = n
			return nil
		})
		return err
	})
	b.Queue(`SELECT terminada_en, resultado FROM regularizaciones WHERE terminada_en IS NOT NULL
		ORDER BY terminada_en DESC LIMIT 1`).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&f.UltimaRegularizacion, &f.UltimoResultado}, func() error { return nil })
		return err
	})
	err := s.pool.SendBatch(ctx, b).Close()
	return f, wrap("read metrics", err)
}
