package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

// Entrada is one notification to apply, with what the audit records about it.
type Entrada struct {
	MessageID    string
	Notificacion contracts.Notificacion
	Payload      []byte
	Origen       string
	Recibido     time.Time
	Remitente    string
	StreamSeq    uint64
	Intentos     int
	// Aparcar: if the comprobante is still unknown, park the notification instead of leaving it
	// for a retry (its retry budget is spent).
	Aparcar bool
	// NoConfirmada, when set, says why NubeFacT did not confirm this webhook (VERIFY_WEBHOOKS):
	// it is recorded in the audit as a conflict and not applied; Confirmacion, NubeFacT's own
	// answer, if any, is applied in its place.
	NoConfirmada string
	Confirmacion *Entrada
}

// Salida is what applying an Entrada did.
type Salida struct {
	Efecto   estado.Efecto
	Anterior estado.Estado
	Nuevo    estado.Estado
	Motivo   string
	EventID  string // set when Efecto is Aplicado
}

// Aplicar applies entradas, in order, in ONE transaction: for each, it de-duplicates by message
// ID (the inbox), decides by the state machine, updates the comprobante conditionally on the
// estado it was read with, writes the event to the outbox and appends the audit row. Either all
// of it commits or none; on error the caller must not acknowledge any of the messages.
//
// A comprobante that is not in the table yields Desconocido and writes nothing (so that a retry
// can still apply it), or Aparcado if the entrada says its budget is spent.
//
// The work is set-based: the whole batch costs a handful of statements (lock the rows, insert
// the inbox, update, insert the outbox, copy the audit) whatever its size, which is what lets
// one transaction per batch outrun a commit per row.
func (s *Store) Aplicar(ctx context.Context, entradas []Entrada, topo contracts.Topologia) ([]Salida, error) {
	var out []Salida
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l := &lote{tx: tx, topo: topo}
		var err error
		out, err = l.aplicar(ctx, entradas)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// op is one notification to judge: an entrada, or the two halves of an unconfirmed webhook
// (NubeFacT's answer, applied, and the webhook itself, recorded as a conflict).
type op struct {
	e          *Entrada
	slot       int  // index of the entrada whose Salida this op gives
	webhook    bool // the unconfirmed webhook itself
	confirm    *op  // for webhook: the op of NubeFacT's answer, if any
	fila       *fila
	nuevo      bool // its message ID was not in the inbox
	desconocid bool
	salida     Salida
}

type fila struct {
	id         int64
	clave      contracts.Clave
	estado     estado.Estado
	codigoHash *string
	// cambiando marks a row with an update in the wave being built.
	cambiando bool
}

type cambio struct {
	op       *op
	fila     *fila
	anterior estado.Estado
	nuevo    estado.Estado
}

type lote struct {
	tx     pgx.Tx
	topo   contracts.Topologia
	ola    []cambio // updates not yet sent
	outbox [][]any  // rows for COPY into outbox: event_id, subject, evento
}

func (l *lote) aplicar(ctx context.Context, entradas []Entrada) ([]Salida, error) {
	ops := expandir(entradas)
	filas, err := l.bloquear(ctx, ops)
	if err != nil {
		return nil, err
	}
	// Unknown comprobantes write nothing, and neither does the webhook whose confirmation they
	// would have been, so that the retry finds everything as it was.
	for _, o := range ops {
		switch {
		case o.webhook && o.confirm != nil:
			o.desconocid = o.confirm.desconocid && !o.confirm.e.Aparcar
		case !o.webhook:
			o.fila = filas[o.e.Notificacion.Clave()]
			o.desconocid = o.fila == nil
		}
	}
	if err := l.inbox(ctx, ops); err != nil {
		return nil, err
	}
	for _, o := range ops {
		if err := l.decidir(ctx, o); err != nil {
			return nil, fmt.Errorf("apply %s: %w", o.e.MessageID, err)
		}
	}
	if err := l.enviarOla(ctx); err != nil {
		return nil, err
	}
	if err := l.encolarEventos(ctx); err != nil {
		return nil, err
	}
	if err := l.auditar(ctx, ops); err != nil {
		return nil, err
	}
	out := make([]Salida, len(entradas))
	for _, o := range ops {
		if o.webhook && o.confirm != nil {
			continue // the entrada reports what NubeFacT's answer did
		}
		out[o.slot] = o.salida
	}
	return out, nil
}

func expandir(entradas []Entrada) []*op {
	ops := make([]*op, 0, len(entradas))
	for i := range entradas {
		e := &entradas[i]
		if e.NoConfirmada == "" {
			ops = append(ops, &op{e: e, slot: i})
			continue
		}
		w := &op{e: e, slot: i, webhook: true}
		if e.Confirmacion != nil {
			w.confirm = &op{e: e.Confirmacion, slot: i}
			ops = append(ops, w.confirm)
		}
		ops = append(ops, w)
	}
	return ops
}

// bloquear reads and locks, in key order, the rows of the comprobantes the batch names. The
// order is what keeps two reconcilers with overlapping batches from deadlocking.
func (l *lote) bloquear(ctx context.Context, ops []*op) (map[contracts.Clave]*fila, error) {
	var tipos []int16
	var series []string
	var numeros []int32
	for _, o := range ops {
		if o.webhook {
			continue
		}
		c := o.e.Notificacion.Clave()
		tipos, series, numeros = append(tipos, int16(c.TipoDeComprobante)), append(series, c.Serie), append(numeros, int32(c.Numero))
	}
	filas := make(map[contracts.Clave]*fila, len(tipos))
	if len(tipos) == 0 {
		return filas, nil
	}
	rows, err := l.tx.Query(ctx, `SELECT c.id, c.tipo_de_comprobante, c.serie, c.numero, c.estado, c.codigo_hash
		FROM comprobantes c
		JOIN (SELECT DISTINCT * FROM unnest($1::smallint[], $2::text[], $3::integer[])) AS k(tipo, serie, numero)
		  ON c.tipo_de_comprobante = k.tipo AND c.serie = k.serie AND c.numero = k.numero
		ORDER BY c.tipo_de_comprobante, c.serie, c.numero
		FOR UPDATE OF c`, tipos, series, numeros)
	if err != nil {
		return nil, wrap("lock comprobantes", err)
	}
	defer rows.Close()
	for rows.Next() {
		f := &fila{}
		var tipo int16
		if err := rows.Scan(&f.id, &tipo, &f.clave.Serie, &f.clave.Numero, &f.estado, &f.codigoHash); err != nil {
			return nil, wrap("lock comprobantes", err)
		}
		f.clave.TipoDeComprobante = int(tipo)
		filas[f.clave] = f
	}
	return filas, wrap("lock comprobantes", rows.Err())
}

// inbox records the message IDs of every op that will be judged, and marks as nuevo the first
// op of each ID that was not there before.
func (l *lote) inbox(ctx context.Context, ops []*op) error {
	var ids []string
	for _, o := range ops {
		if !o.desconocid {
			ids = append(ids, o.e.MessageID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := l.tx.Query(ctx, `INSERT INTO inbox (message_id) SELECT DISTINCT unnest($1::text[])
		ON CONFLICT DO NOTHING RETURNING message_id`, ids)
	if err != nil {
		return wrap("inbox", err)
	}
	nuevos, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return wrap("inbox", err)
	}
	sinUsar := make(map[string]bool, len(nuevos))
	for _, id := range nuevos {
		sinUsar[id] = true
	}
	for _, o := range ops {
		if !o.desconocid && sinUsar[o.e.MessageID] {
			o.nuevo = true
			delete(sinUsar, o.e.MessageID) // later copies in the batch are duplicates
		}
	}
	return nil
}

// decidir judges one op against the state of its row as the batch has left it so far.
func (l *lote) decidir(ctx context.Context, o *op) error {
	e := o.e
	switch {
	case o.webhook && o.desconocid:
		o.salida = o.confirm.salida
	case o.webhook && o.nuevo:
		o.salida = Salida{Efecto: estado.Conflicto, Motivo: e.NoConfirmada}
	case o.webhook:
		o.salida = Salida{Efecto: estado.Duplicado, Motivo: "message ID ya procesado"}
	case o.desconocid && !e.Aparcar:
		o.salida = Salida{Efecto: estado.Desconocido, Motivo: "el comprobante no está en la tabla"}
	case o.desconocid:
		o.salida = Salida{Efecto: estado.Aparcado, Motivo: fmt.Sprintf("el comprobante no apareció en la tabla tras %d intentos", e.Intentos)}
		return aparcar(ctx, l.tx, e, o.salida.Motivo)
	case !o.nuevo:
		o.salida = Salida{Efecto: estado.Duplicado, Anterior: o.fila.estado, Nuevo: o.fila.estado, Motivo: "message ID ya procesado"}
	default:
		f, n := o.fila, &e.Notificacion
		d := estado.Decidir(estado.Actual{Estado: f.estado, CodigoHash: deref(f.codigoHash)}, n.Resultado(), deref(n.CodigoHash))
		o.salida = Salida{Efecto: d.Efecto, Anterior: f.estado, Nuevo: d.Nuevo, Motivo: d.Motivo}
		if d.Efecto != estado.Aplicado {
			return nil
		}
		if f.cambiando { // a second change of one row in a batch: send the first one before
			if err := l.enviarOla(ctx); err != nil {
				return err
			}
		}
		l.ola = append(l.ola, cambio{op: o, fila: f, anterior: f.estado, nuevo: d.Nuevo})
		f.cambiando, f.estado = true, d.Nuevo
		if n.CodigoHash != nil {
			f.codigoHash = n.CodigoHash
		}
	}
	return nil
}

// enviarOla updates the rows of the pending changes in one statement, conditional on the estado
// each was read with (the seed's idempotency rule, kept even though the rows are locked), and
// builds their events from what the rows hold afterwards. Fields a notification leaves null
// keep their stored value: an anulación does not erase the CDR of the acceptance it voids.
func (l *lote) enviarOla(ctx context.Context) error {
	if len(l.ola) == 0 {
		return nil
	}
	k := len(l.ola)
	ids := make([]int64, k)
	anteriores, nuevos := make([]string, k), make([]string, k)
	var enlace, pdf, xml, cdr, hash, code, desc, note = make([]*string, k), make([]*string, k), make([]*string, k),
		make([]*string, k), make([]*string, k), make([]*string, k), make([]*string, k), make([]*string, k)
	porID := make(map[int64]*cambio, k)
	for i := range l.ola {
		c := &l.ola[i]
		n := &c.op.e.Notificacion
		ids[i], anteriores[i], nuevos[i] = c.fila.id, string(c.anterior), string(c.nuevo)
		enlace[i], pdf[i], xml[i], cdr[i] = n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR
		hash[i], code[i], desc[i], note[i] = n.CodigoHash, n.SunatResponsecode, n.SunatDescription, n.SunatNote
		porID[c.fila.id] = c
	}
	rows, err := l.tx.Query(ctx, `UPDATE comprobantes c SET
			estado = u.nuevo,
			enlace = coalesce(u.enlace, c.enlace),
			enlace_del_pdf = coalesce(u.pdf, c.enlace_del_pdf),
			enlace_del_xml = coalesce(u.xml, c.enlace_del_xml),
			enlace_del_cdr = coalesce(u.cdr, c.enlace_del_cdr),
			codigo_hash = coalesce(u.hash, c.codigo_hash),
			sunat_responsecode = coalesce(u.code, c.sunat_responsecode),
			sunat_description = coalesce(u.descr, c.sunat_description),
			sunat_note = coalesce(u.note, c.sunat_note),
			estado_final_en = clock_timestamp(),
			actualizado_en = now()
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[]) AS u(id, anterior, nuevo, enlace, pdf, xml, cdr, hash, code, descr, note)
		WHERE c.id = u.id AND c.estado = u.anterior
		RETURNING c.id, c.enlace, c.enlace_del_pdf, c.enlace_del_xml, c.enlace_del_cdr, c.codigo_hash,
			c.sunat_responsecode, c.sunat_description, c.sunat_note, c.estado_final_en, to_char(c.fecha_de_emision, 'YYYY-MM-DD')`,
		ids, anteriores, nuevos, enlace, pdf, xml, cdr, hash, code, desc, note)
	if err != nil {
		return wrap("update comprobantes", err)
	}
	defer rows.Close()
	actualizadas := 0
	for rows.Next() {
		var id int64
		var d contracts.ComprobanteEvento
		if err := rows.Scan(&id, &d.Enlace, &d.EnlaceDelPDF, &d.EnlaceDelXML, &d.EnlaceDelCDR, &d.CodigoHash,
			&d.SunatResponsecode, &d.SunatDescription, &d.SunatNote, &d.EstadoFinalEn, &d.FechaDeEmision); err != nil {
			return wrap("update comprobantes", err)
		}
		c := porID[id]
		clave := c.fila.clave
		d.TipoDeComprobante, d.Serie, d.Numero = clave.TipoDeComprobante, clave.Serie, clave.Numero
		d.Estado, d.EstadoAnterior = contracts.Resultado(c.nuevo), string(c.anterior)
		d.Origen, d.NotificacionID = c.op.e.Origen, c.op.e.MessageID
		ev := contracts.NuevoEvento(d)
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		c.op.salida.EventID = ev.ID
		l.outbox = append(l.outbox, []any{ev.ID, l.topo.SubjectEvento(clave.TipoDeComprobante, d.Estado), body})
		actualizadas++
	}
	if err := rows.Err(); err != nil {
		return wrap("update comprobantes", err)
	}
	if actualizadas != k {
		return fmt.Errorf("update comprobantes: %d of %d rows changed under our lock", k-actualizadas, k)
	}
	for _, c := range l.ola {
		c.fila.cambiando = false
	}
	l.ola = l.ola[:0]
	return nil
}

// encolarEventos writes the batch's events to the outbox with COPY: each event ID is written once
// (a comprobante enters each state at most once), so no conflict handling is needed, and COPY
// streams the JSON instead of building one huge parameter.
func (l *lote) encolarEventos(ctx context.Context) error {
	if len(l.outbox) == 0 {
		return nil
	}
	_, err := l.tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, []string{"event_id", "subject", "evento"}, pgx.CopyFromRows(l.outbox))
	return wrap("outbox", err)
}

var columnasAuditoria = []string{"message_id", "origen", "recibido_en", "remitente", "stream_seq", "tipo_de_comprobante",
	"serie", "numero", "resultado", "efecto", "estado_anterior", "estado_nuevo", "motivo", "payload"}

// auditar appends one audit row per judged op, in order, with COPY. Unknown comprobantes left
// for a retry are not recorded: they will be, when they are judged.
func (l *lote) auditar(ctx context.Context, ops []*op) error {
	rows := make([][]any, 0, len(ops))
	for _, o := range ops {
		if o.salida.Efecto == estado.Desconocido || (o.webhook && o.desconocid) {
			continue
		}
		e, s := o.e, o.salida
		c := e.Notificacion.Clave()
		rows = append(rows, []any{e.MessageID, e.Origen, e.Recibido, nullable(e.Remitente), int64(e.StreamSeq),
			int16(c.TipoDeComprobante), c.Serie, int32(c.Numero), string(e.Notificacion.Resultado()), string(s.Efecto),
			nullable(string(s.Anterior)), nullable(string(s.Nuevo)), s.Motivo, string(e.Payload)})
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := l.tx.CopyFrom(ctx, pgx.Identifier{"notificaciones"}, columnasAuditoria, pgx.CopyFromRows(rows))
	return wrap("audit", err)
}

func aparcar(ctx context.Context, tx pgx.Tx, e *Entrada, motivo string) error {
	c := e.Notificacion.Clave()
	_, err := tx.Exec(ctx, `INSERT INTO aparcadas (message_id, origen, recibido_en, remitente,
			tipo_de_comprobante, serie, numero, motivo, intentos, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (message_id) DO UPDATE SET motivo = excluded.motivo, intentos = excluded.intentos,
			aparcada_en = now(), veces = aparcadas.veces + 1, reenviada_en = NULL`,
		e.MessageID, e.Origen, e.Recibido, nullable(e.Remitente), c.TipoDeComprobante, c.Serie, c.Numero,
		motivo, e.Intentos, string(e.Payload))
	return wrap("park", err)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
