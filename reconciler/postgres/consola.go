package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// What the ops console reads and records.

const columnasComprobante = `id, tipo_de_comprobante, serie, numero, estado, fecha_de_emision, enlace, enlace_del_pdf,
	enlace_del_xml, enlace_del_cdr, codigo_hash, sunat_responsecode, sunat_description, sunat_note, estado_final_en,
	creado_en, actualizado_en`

// Comprobante reads one comprobante; found is false when it is not in the table.
func (s *Store) Comprobante(ctx context.Context, c contracts.Clave) (_ estado.Comprobante, found bool, _ error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columnasComprobante+` FROM comprobantes
		WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3`, c.TipoDeComprobante, c.Serie, c.Numero)
	if err != nil {
		return estado.Comprobante{}, false, wrap("read comprobante", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[estado.Comprobante])
	if errors.Is(err, pgx.ErrNoRows) {
		return estado.Comprobante{}, false, nil
	}
	return row, err == nil, wrap("read comprobante", err)
}

// Historia reads a page of what is recorded about one comprobante, newest first: up to limit
// notifications of the audit before antes.Auditada and up to limit console actions before
// antes.Accion, each read on its index (notificaciones_clave_id, acciones_clave_id), so the
// newest page of a comprobante with 10,000 audit rows costs what one with ten does. The caller
// merges the two and shows limit of them. Payloads longer than MaxPayloadMostrado are cut (Largo
// says how long they are): the audit keeps them whole.
func (s *Store) Historia(ctx context.Context, c contracts.Clave, antes estado.CursorHistoria, limit int) ([]estado.Auditada, []estado.Accion, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, message_id, origen, recibido_en, remitente, resultado, efecto,
			estado_anterior, estado_nuevo, motivo, left(payload, $6) AS payload, octet_length(payload) AS largo, registrado_en
		FROM notificaciones WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, c.TipoDeComprobante, c.Serie, c.Numero, antes.Auditada, limit, estado.MaxPayloadMostrado)
	if err != nil {
		return nil, nil, wrap("read history", err)
	}
	auditadas, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[estado.Auditada])
	if err != nil {
		return nil, nil, wrap("read history", err)
	}
	acciones, err := s.acciones(ctx, `WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, c.TipoDeComprobante, c.Serie, c.Numero, antes.Accion, limit)
	return auditadas, acciones, err
}

// Acciones returns the console's last limit actions, newest first.
func (s *Store) Acciones(ctx context.Context, limit int) ([]estado.Accion, error) {
	return s.acciones(ctx, `ORDER BY id DESC LIMIT $1`, limit)
}

func (s *Store) acciones(ctx context.Context, where string, args ...any) ([]estado.Accion, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, usuario, accion, objeto, tipo_de_comprobante, serie, numero, detalle,
		resultado, realizada_en FROM acciones `+where, args...)
	if err != nil {
		return nil, wrap("read actions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.Accion, error) {
		var a estado.Accion
		var tipo *int16
		var serie *string
		var numero *int32
		err := r.Scan(&a.ID, &a.Usuario, &a.Accion, &a.Objeto, &tipo, &serie, &numero, &a.Detalle, &a.Resultado, &a.RealizadaEn)
		if tipo != nil && serie != nil && numero != nil {
			a.Clave = &contracts.Clave{TipoDeComprobante: int(*tipo), Serie: *serie, Numero: int(*numero)}
		}
		return a, err
	})
	return out, wrap("read actions", err)
}

// RegistrarAccion appends an action to the acciones table.
func (s *Store) RegistrarAccion(ctx context.Context, a estado.Accion) error {
	return registrarAccion(ctx, s.pool, a)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func registrarAccion(ctx context.Context, db execer, a estado.Accion) error {
	var tipo *int16
	var serie *string
	var numero *int32
	if a.Clave != nil {
		t, n := int16(a.Clave.TipoDeComprobante), int32(a.Clave.Numero)
		tipo, serie, numero = &t, &a.Clave.Serie, &n
	}
	_, err := db.Exec(ctx, `INSERT INTO acciones (usuario, accion, objeto, tipo_de_comprobante, serie, numero, detalle, resultado)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.Usuario, a.Accion, a.Objeto, tipo, serie, numero, a.Detalle, a.Resultado)
	return wrap("record action", err)
}

// Conflictos returns a page of up to limit conflicts after the cursor: those not reviewed
// first, newest first. The page's ids are chosen before anything else is read, so only its
// rows' payloads are ever loaded.
func (s *Store) Conflictos(ctx context.Context, despues estado.CursorConflicto, limit int) ([]estado.ConflictoAuditado, error) {
	rows, err := s.pool.Query(ctx, `WITH pagina AS (
			SELECT n.id, r.notificacion_id IS NOT NULL AS revisado
			FROM notificaciones n LEFT JOIN conflictos_revisados r ON r.notificacion_id = n.id
			WHERE n.efecto = 'conflicto' AND ($1::bigint = 0 OR (r.notificacion_id IS NOT NULL, -n.id) > ($2::bool, -$1::bigint))
			ORDER BY 2, n.id DESC LIMIT $3)
		SELECT n.id, n.message_id, n.origen, n.recibido_en, n.remitente, n.resultado,
			n.efecto, n.estado_anterior, n.estado_nuevo, n.motivo, n.payload, n.registrado_en,
			n.tipo_de_comprobante, n.serie, n.numero, r.revisado_por, r.nota, r.revisado_en,
			c.id IS NOT NULL, c.estado, c.codigo_hash, c.enlace_del_cdr
		FROM pagina p JOIN notificaciones n ON n.id = p.id LEFT JOIN conflictos_revisados r ON r.notificacion_id = n.id
		LEFT JOIN comprobantes c ON (c.tipo_de_comprobante, c.serie, c.numero) = (n.tipo_de_comprobante, n.serie, n.numero)
		ORDER BY p.revisado, n.id DESC`, despues.ID, despues.Revisado, limit)
	if err != nil {
		return nil, wrap("read conflicts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.ConflictoAuditado, error) {
		var c estado.ConflictoAuditado
		var tipo int16
		var por, nota, guardado *string
		var existe bool
		var g estado.Comprobante
		err := r.Scan(&c.ID, &c.MessageID, &c.Origen, &c.RecibidoEn, &c.Remitente, &c.Resultado, &c.Efecto,
			&c.EstadoAnterior, &c.EstadoNuevo, &c.Motivo, &c.Payload, &c.RegistradoEn,
			&tipo, &c.Clave.Serie, &c.Clave.Numero, &por, &nota, &c.RevisadoEn,
			&existe, &guardado, &g.CodigoHash, &g.EnlaceDelCDR)
		c.Clave.TipoDeComprobante = int(tipo)
		if por != nil {
			c.RevisadoPor, c.Nota = *por, *nota
		}
		if existe && guardado != nil {
			g.Estado = *guardado
			c.Guardado = &g
		}
		return c, err
	})
	return out, wrap("read conflicts", err)
}

// MarcarRevisado records that usuario reviewed the conflict id, with a note, and the action, in
// one transaction. Marking it again changes nothing and is recorded as such.
func (s *Store) MarcarRevisado(ctx context.Context, id int64, usuario, nota string) error {
	return wrap("mark reviewed", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var c contracts.Clave
		var tipo int16
		err := tx.QueryRow(ctx, `SELECT tipo_de_comprobante, serie, numero FROM notificaciones WHERE id = $1 AND efecto = 'conflicto'`, id).
			Scan(&tipo, &c.Serie, &c.Numero)
		if errors.Is(err, pgx.ErrNoRows) {
			return estado.ErrNoEsConflicto
		}
		if err != nil {
			return err
		}
		c.TipoDeComprobante = int(tipo)
		tag, err := tx.Exec(ctx, `INSERT INTO conflictos_revisados (notificacion_id, revisado_por, nota) VALUES ($1, $2, $3)
			ON CONFLICT (notificacion_id) DO NOTHING`, id, usuario, nota)
		if err != nil {
			return err
		}
		resultado := "ok"
		if tag.RowsAffected() == 0 {
			resultado = "ya estaba revisado"
		}
		return registrarAccion(ctx, tx, estado.Accion{Usuario: usuario, Accion: "marcar_revisado", Objeto: "notificacion " + strconv.FormatInt(id, 10),
			Clave: &c, Detalle: nota, Resultado: resultado})
	}))
}

// diaSQL is a comprobante's day of issue in Lima, as comprobantes_pendientes_por_dia indexes it.
const diaSQL = `coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date)`

// PendientesPorDia lists up to limit pending comprobantes after the cursor (zero: from the
// start), oldest day of issue first: keyset pagination on comprobantes_pendientes_por_dia, so
// paging through 100,000 reads one page at a time.
func (s *Store) PendientesPorDia(ctx context.Context, f estado.FiltroPendientes, despues estado.Cursor, limit int) ([]estado.PendienteDia, error) {
	var tipo *int
	var serie *string
	var desde, hasta, cursor *time.Time
	if f.Tipo != 0 {
		tipo = &f.Tipo
	}
	if f.Serie != "" {
		serie = &f.Serie
	}
	if !f.Desde.IsZero() {
		desde = &f.Desde.Time
	}
	if !f.Hasta.IsZero() {
		hasta = &f.Hasta.Time
	}
	if !despues.Dia.IsZero() {
		cursor = &despues.Dia.Time
	}
	rows, err := s.pool.Query(ctx, `SELECT id, tipo_de_comprobante, serie, numero, `+diaSQL+` FROM comprobantes
		WHERE estado = 'pendiente' AND ($1::smallint IS NULL OR tipo_de_comprobante = $1) AND ($2::text IS NULL OR serie = $2)
		  AND ($3::date IS NULL OR `+diaSQL+` >= $3) AND ($4::date IS NULL OR `+diaSQL+` <= $4)
		  AND ($5::date IS NULL OR (`+diaSQL+`, id) > ($5, $6))
		ORDER BY `+diaSQL+`, id LIMIT $7`, tipo, serie, desde, hasta, cursor, despues.ID, limit)
	if err != nil {
		return nil, wrap("list pending", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.PendienteDia, error) {
		var p estado.PendienteDia
		var t int16
		var dia time.Time
		err := r.Scan(&p.ID, &t, &p.Clave.Serie, &p.Clave.Numero, &dia)
		p.Clave.TipoDeComprobante, p.Dia = int(t), estado.DiaDeFecha(dia)
		return p, err
	})
	return out, wrap("list pending", err)
}

// ConteosRecientes reads those counts from comprobantes_conteo (fold it first: Fotografiar).
func (s *Store) ConteosRecientes(ctx context.Context, hoy estado.Dia) ([]estado.ConteoReciente, error) {
	rows, err := s.pool.Query(ctx, `SELECT tipo_de_comprobante, estado, coalesce(sum(n) FILTER (WHERE dia = $1), 0)::bigint, sum(n)::bigint
		FROM comprobantes_conteo WHERE dia BETWEEN $1::date - 6 AND $1 GROUP BY 1, 2 ORDER BY 1, 2`, hoy.Time)
	if err != nil {
		return nil, wrap("read recent counts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (estado.ConteoReciente, error) {
		var c estado.ConteoReciente
		var tipo int16
		err := r.Scan(&tipo, &c.Estado, &c.Hoy, &c.Semana)
		c.Tipo = int(tipo)
		return c, err
	})
	return out, wrap("read recent counts", err)
}
