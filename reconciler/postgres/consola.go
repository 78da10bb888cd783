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

// Comprobante is one row of the comprobantes table.
type Comprobante struct {
	ID                int64      `db:"id"`
	TipoDeComprobante int        `db:"tipo_de_comprobante"`
	Serie             string     `db:"serie"`
	Numero            int        `db:"numero"`
	Estado            string     `db:"estado"`
	FechaDeEmision    *time.Time `db:"fecha_de_emision"`
	Enlace            *string    `db:"enlace"`
	EnlaceDelPDF      *string    `db:"enlace_del_pdf"`
	EnlaceDelXML      *string    `db:"enlace_del_xml"`
	EnlaceDelCDR      *string    `db:"enlace_del_cdr"`
	CodigoHash        *string    `db:"codigo_hash"`
	SunatResponsecode *string    `db:"sunat_responsecode"`
	SunatDescription  *string    `db:"sunat_description"`
	SunatNote         *string    `db:"sunat_note"`
	EstadoFinalEn     *time.Time `db:"estado_final_en"`
	CreadoEn          time.Time  `db:"creado_en"`
	ActualizadoEn     time.Time  `db:"actualizado_en"`
}

// Clave is the comprobante's key.
func (c Comprobante) Clave() contracts.Clave {
	return contracts.Clave{TipoDeComprobante: c.TipoDeComprobante, Serie: c.Serie, Numero: c.Numero}
}

// Dia is the comprobante's day of issue in Lima (its creation's, when the date is unknown).
func (c Comprobante) Dia() estado.Dia {
	if c.FechaDeEmision != nil {
		return estado.DiaDeFecha(*c.FechaDeEmision)
	}
	return estado.DiaEnLima(c.CreadoEn)
}

// Auditada is one row of the audit (notificaciones).
type Auditada struct {
	ID             int64     `db:"id"`
	MessageID      string    `db:"message_id"`
	Origen         string    `db:"origen"`
	RecibidoEn     time.Time `db:"recibido_en"`
	Remitente      *string   `db:"remitente"`
	Resultado      string    `db:"resultado"`
	Efecto         string    `db:"efecto"`
	EstadoAnterior *string   `db:"estado_anterior"`
	EstadoNuevo    *string   `db:"estado_nuevo"`
	Motivo         string    `db:"motivo"`
	Payload        string    `db:"payload"`
	// Largo is the payload's length in bytes when Payload holds only its first
	// MaxPayloadMostrado characters (Historia).
	Largo        int       `db:"largo"`
	RegistradoEn time.Time `db:"registrado_en"`
}

// Accion is one action taken from the console, as the acciones table records it.
type Accion struct {
	ID          int64
	Usuario     string
	Accion      string
	Objeto      string
	Clave       *contracts.Clave
	Detalle     string
	Resultado   string
	RealizadaEn time.Time
}

const columnasComprobante = `id, tipo_de_comprobante, serie, numero, estado, fecha_de_emision, enlace, enlace_del_pdf,
	enlace_del_xml, enlace_del_cdr, codigo_hash, sunat_responsecode, sunat_description, sunat_note, estado_final_en,
	creado_en, actualizado_en`

// Comprobante reads one comprobante; found is false when it is not in the table.
func (s *Store) Comprobante(ctx context.Context, c contracts.Clave) (_ Comprobante, found bool, _ error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columnasComprobante+` FROM comprobantes
		WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3`, c.TipoDeComprobante, c.Serie, c.Numero)
	if err != nil {
		return Comprobante{}, false, wrap("read comprobante", err)
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[Comprobante])
	if errors.Is(err, pgx.ErrNoRows) {
		return Comprobante{}, false, nil
	}
	return row, err == nil, wrap("read comprobante", err)
}

// CursorHistoria is where a page of a comprobante's timeline ends: the next page holds the
// audit rows before Auditada and the actions before Accion (by id; 0: no bound).
type CursorHistoria struct {
	Auditada, Accion int64
}

// Historia reads a page of what is recorded about one comprobante, newest first: up to limit
// notifications of the audit before antes.Auditada and up to limit console actions before
// antes.Accion, each read on its index (notificaciones_clave_id, acciones_clave_id), so the
// newest page of a comprobante with 10,000 audit rows costs what one with ten does. The caller
// merges the two and shows limit of them. Payloads longer than MaxPayloadMostrado are cut (Largo
// says how long they are): the audit keeps them whole.
func (s *Store) Historia(ctx context.Context, c contracts.Clave, antes CursorHistoria, limit int) ([]Auditada, []Accion, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, message_id, origen, recibido_en, remitente, resultado, efecto,
			estado_anterior, estado_nuevo, motivo, left(payload, $6) AS payload, octet_length(payload) AS largo, registrado_en
		FROM notificaciones WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, c.TipoDeComprobante, c.Serie, c.Numero, antes.Auditada, limit, MaxPayloadMostrado)
	if err != nil {
		return nil, nil, wrap("read history", err)
	}
	auditadas, err := pgx.CollectRows(rows, pgx.RowToStructByNameLax[Auditada])
	if err != nil {
		return nil, nil, wrap("read history", err)
	}
	acciones, err := s.acciones(ctx, `WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, c.TipoDeComprobante, c.Serie, c.Numero, antes.Accion, limit)
	return auditadas, acciones, err
}

// MaxPayloadMostrado is how much of a payload the console's pages show: a webhook of NubeFacT
// weighs about 2 KiB; what is larger is cut there (the audit keeps it whole).
const MaxPayloadMostrado = 8 << 10

// Acciones returns the console's last limit actions, newest first.
func (s *Store) Acciones(ctx context.Context, limit int) ([]Accion, error) {
	return s.acciones(ctx, `ORDER BY id DESC LIMIT $1`, limit)
}

func (s *Store) acciones(ctx context.Context, where string, args ...any) ([]Accion, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, usuario, accion, objeto, tipo_de_comprobante, serie, numero, detalle,
		resultado, realizada_en FROM acciones `+where, args...)
	if err != nil {
		return nil, wrap("read actions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Accion, error) {
		var a Accion
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
func (s *Store) RegistrarAccion(ctx context.Context, a Accion) error {
	return registrarAccion(ctx, s.pool, a)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func registrarAccion(ctx context.Context, db execer, a Accion) error {
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

// Conflicto is a conflict of the audit beside what the comprobante holds now, and its review.
type Conflicto struct {
	Auditada
	Clave       contracts.Clave
	Guardado    *Comprobante // its estado, codigo_hash and enlace_del_cdr; nil if the row is gone
	RevisadoPor string       // set when reviewed (RevisadoEn not nil)
	Nota        string
	RevisadoEn  *time.Time
}

// CursorConflicto is where a page of Conflictos ends: the next page starts after it.
type CursorConflicto struct {
	Revisado bool
	ID       int64 // 0: from the first
}

// Conflictos returns a page of up to limit conflicts after the cursor: those not reviewed
// first, newest first. The page's ids are chosen before anything else is read, so only its
// rows' payloads are ever loaded.
func (s *Store) Conflictos(ctx context.Context, despues CursorConflicto, limit int) ([]Conflicto, error) {
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
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Conflicto, error) {
		var c Conflicto
		var tipo int16
		var por, nota, estado *string
		var existe bool
		var g Comprobante
		err := r.Scan(&c.ID, &c.MessageID, &c.Origen, &c.RecibidoEn, &c.Remitente, &c.Resultado, &c.Efecto,
			&c.EstadoAnterior, &c.EstadoNuevo, &c.Motivo, &c.Payload, &c.RegistradoEn,
			&tipo, &c.Clave.Serie, &c.Clave.Numero, &por, &nota, &c.RevisadoEn,
			&existe, &estado, &g.CodigoHash, &g.EnlaceDelCDR)
		c.Clave.TipoDeComprobante = int(tipo)
		if por != nil {
			c.RevisadoPor, c.Nota = *por, *nota
		}
		if existe && estado != nil {
			g.Estado = *estado
			c.Guardado = &g
		}
		return c, err
	})
	return out, wrap("read conflicts", err)
}

// Cursor is where the page that ends with c ends.
func (c Conflicto) Cursor() CursorConflicto {
	return CursorConflicto{Revisado: c.RevisadoEn != nil, ID: c.ID}
}

// ErrNoEsConflicto: the audit row to mark reviewed is not a conflict.
var ErrNoEsConflicto = errors.New("that notification is not a conflict")

// MarcarRevisado records that usuario reviewed the conflict id, with a note, and the action, in
// one transaction. Marking it again changes nothing and is recorded as such.
func (s *Store) MarcarRevisado(ctx context.Context, id int64, usuario, nota string) error {
	return wrap("mark reviewed", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var c contracts.Clave
		var tipo int16
		err := tx.QueryRow(ctx, `SELECT tipo_de_comprobante, serie, numero FROM notificaciones WHERE id = $1 AND efecto = 'conflicto'`, id).
			Scan(&tipo, &c.Serie, &c.Numero)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoEsConflicto
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
		return registrarAccion(ctx, tx, Accion{Usuario: usuario, Accion: "marcar_revisado", Objeto: "notificacion " + strconv.FormatInt(id, 10),
			Clave: &c, Detalle: nota, Resultado: resultado})
	}))
}

// diaSQL is a comprobante's day of issue in Lima, as comprobantes_pendientes_por_dia indexes it.
const diaSQL = `coalesce(fecha_de_emision, (creado_en AT TIME ZONE 'America/Lima')::date)`

// PendienteDia is a pending comprobante and its day of issue.
type PendienteDia struct {
	ID    int64
	Clave contracts.Clave
	Dia   estado.Dia
}

// FiltroPendientes selects pending comprobantes for the console. Zero fields do not filter;
// Desde and Hasta bound the day of issue, inclusive.
type FiltroPendientes struct {
	Tipo         int
	Serie        string
	Desde, Hasta estado.Dia
}

// Cursor is where a page of PendientesPorDia ends: the next page starts after it.
type Cursor struct {
	Dia estado.Dia
	ID  int64
}

// PendientesPorDia lists up to limit pending comprobantes after the cursor (zero: from the
// start), oldest day of issue first: keyset pagination on comprobantes_pendientes_por_dia, so
// paging through 100,000 reads one page at a time.
func (s *Store) PendientesPorDia(ctx context.Context, f FiltroPendientes, despues Cursor, limit int) ([]PendienteDia, error) {
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
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendienteDia, error) {
		var p PendienteDia
		var t int16
		var dia time.Time
		err := r.Scan(&p.ID, &t, &p.Clave.Serie, &p.Clave.Numero, &dia)
		p.Clave.TipoDeComprobante, p.Dia = int(t), estado.DiaDeFecha(dia)
		return p, err
	})
	return out, wrap("list pending", err)
}

// ConteoReciente counts the comprobantes of one tipo and estado issued today and in the last 7
// days (today included), days in Lima.
type ConteoReciente struct {
	Tipo        int
	Estado      string
	Hoy, Semana int64
}

// ConteosRecientes reads those counts from comprobantes_conteo (fold it first: Fotografiar).
func (s *Store) ConteosRecientes(ctx context.Context, hoy estado.Dia) ([]ConteoReciente, error) {
	rows, err := s.pool.Query(ctx, `SELECT tipo_de_comprobante, estado, coalesce(sum(n) FILTER (WHERE dia = $1), 0)::bigint, sum(n)::bigint
		FROM comprobantes_conteo WHERE dia BETWEEN $1::date - 6 AND $1 GROUP BY 1, 2 ORDER BY 1, 2`, hoy.Time)
	if err != nil {
		return nil, wrap("read recent counts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConteoReciente, error) {
		var c ConteoReciente
		var tipo int16
		err := r.Scan(&tipo, &c.Estado, &c.Hoy, &c.Semana)
		c.Tipo = int(tipo)
		return c, err
	})
	return out, wrap("read recent counts", err)
}
