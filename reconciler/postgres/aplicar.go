package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

// Aplicar applies recibidas, in order, in ONE transaction: for each, it de-duplicates by message
// ID (the inbox), decides by the state machine, updates the comprobante conditionally on the
// estado it was read with, writes the event to the outbox and appends the audit row. Either all
// of it commits or none; on error the caller must not acknowledge any of the messages.
//
// A notification for a comprobante that is not in the table is parked (Aparcado): it waits in
// the aparcadas table, and AplicarListas applies it once the comprobante is inserted.
//
// The work is set-based: the whole batch costs a handful of statements (lock the rows, insert
// the inbox, update, insert the outbox, copy the audit) whatever its size, which is what lets
// one transaction per batch outrun a commit per row.
//
// With a claim (the worker's, whose relay publishes the batch's events itself the moment the
// transaction commits, instead of waiting for a sweep of the outbox) the events are written to
// the outbox already claimed for that long, so no relay's sweep takes them meanwhile, and
// returned. If they are not published by then, whichever relay sweeps next publishes them.
// Without (0) they wait for a sweep.
func (s *Store) Aplicar(ctx context.Context, recibidas []estado.Recibida, topo contracts.Topologia, claim time.Duration) ([]estado.Veredicto, []estado.EventoPendiente, error) {
	return s.aplicarEnTx(ctx, recibidas, topo, claim)
}

func (s *Store) aplicarEnTx(ctx context.Context, recibidas []estado.Recibida, topo contracts.Topologia, claim time.Duration) ([]estado.Veredicto, []estado.EventoPendiente, error) {
	var out []estado.Veredicto
	var eventos []estado.EventoPendiente
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, eventos, err = aplicar(ctx, tx, topo, recibidas, claim, s.topeAparcadas)
		return err
	})
	if err != nil {
		return nil, nil, wrap("apply", err)
	}
	return out, eventos, nil
}

// op is a step of the batch, with what the batch learns of it.
type op struct {
	estado.Paso
	e          *estado.Recibida
	lockedRow  *lockedRow
	primeraVez bool // its message ID was not in the inbox
	veredicto  estado.Veredicto
}

type lockedRow struct {
	id         int64
	clave      contracts.Clave
	estado     estado.Estado
	codigoHash *string
	vacios     contracts.Campos
	// cambiando marks a row with an update in the wave being built.
	cambiando bool
}

type cambio struct {
	op        *op
	lockedRow *lockedRow
	anterior  estado.Estado
	nuevo     estado.Estado
	// completar, for a Completado, are the fields to fill in; 0 for a change of estado.
	completar contracts.Campos
}

type batch struct {
	tx     pgx.Tx
	topo   contracts.Topologia
	queued []cambio      // updates not yet sent
	outbox [][]any       // rows for COPY into outbox: event_id, subject, evento
	claim  time.Duration // the outbox rows are claimed for this long; 0: unclaimed
	reloj  time.Time     // Postgres's clock at the batch's last update, where the claim starts
	tope   int64         // PARKED_MAX; 0: no cap
}

func aplicar(ctx context.Context, tx pgx.Tx, topo contracts.Topologia, recibidas []estado.Recibida, claim time.Duration, tope int64) ([]estado.Veredicto, []estado.EventoPendiente, error) {
	l := &batch{tx: tx, topo: topo, claim: claim, tope: tope}
	ops := expandir(recibidas)
	locked, err := l.lock(ctx, ops)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range ops {
		if !o.Registro {
			o.lockedRow = locked[o.e.Notificacion.Clave()]
		}
	}
	if err := l.inbox(ctx, ops); err != nil {
		return nil, nil, err
	}
	for _, o := range ops {
		if err := l.decidir(ctx, o); err != nil {
			return nil, nil, fmt.Errorf("apply %s: %w", o.e.MessageID, err)
		}
	}
	if err := l.flush(ctx); err != nil {
		return nil, nil, err
	}
	if err := l.enqueueEvents(ctx); err != nil {
		return nil, nil, err
	}
	if err := l.aparcar(ctx, ops); err != nil {
		return nil, nil, err
	}
	if err := l.resolverAparcadas(ctx, ops); err != nil {
		return nil, nil, err
	}
	if err := l.auditar(ctx, ops); err != nil {
		return nil, nil, err
	}
	out := make([]estado.Veredicto, len(recibidas))
	for _, o := range ops {
		if o.Informa {
			out[o.Indice] = o.veredicto
		}
	}
	return out, l.eventos(), nil
}

func expandir(recibidas []estado.Recibida) []*op {
	pasos := estado.Pasos(recibidas)
	ops := make([]*op, len(pasos))
	for i, p := range pasos {
		ops[i] = &op{Paso: p, e: p.Recibida}
	}
	return ops
}

// lock reads and locks, in key order, the rows of the comprobantes the batch names. The
// order is what keeps two reconcilers with overlapping batches from deadlocking.
func (l *batch) lock(ctx context.Context, ops []*op) (map[contracts.Clave]*lockedRow, error) {
	var tipos []int16
	var series []string
	var numeros []int32
	for _, o := range ops {
		if o.Registro {
			continue
		}
		c := o.e.Notificacion.Clave()
		tipos, series, numeros = append(tipos, int16(c.TipoDeComprobante)), append(series, c.Serie), append(numeros, int32(c.Numero))
	}
	locked := make(map[contracts.Clave]*lockedRow, len(tipos))
	if len(tipos) == 0 {
		return locked, nil
	}
	rows, err := l.tx.Query(ctx, `SELECT c.id, c.tipo_de_comprobante, c.serie, c.numero, c.estado, c.codigo_hash,
			ARRAY[`+columnasCampos+`]
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
		f := &lockedRow{}
		var tipo int16
		var campos []*string
		if err := rows.Scan(&f.id, &tipo, &f.clave.Serie, &f.clave.Numero, &f.estado, &f.codigoHash, &campos); err != nil {
			return nil, wrap("lock comprobantes", err)
		}
		f.clave.TipoDeComprobante = int(tipo)
		f.vacios = contracts.TodosLosCampos &^ contracts.CamposNoVacios(campos)
		locked[f.clave] = f
	}
	return locked, wrap("lock comprobantes", rows.Err())
}

// inbox records the message IDs of every op that will be judged, and marks as nuevo the first
// op of each ID that was not there before. Parked notifications stay out (they are judged when
// their comprobante arrives), and so do replaced webhooks (only recorded).
func (l *batch) inbox(ctx context.Context, ops []*op) error {
	var ids []string
	for _, o := range ops {
		if o.juzgado() {
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
		if o.juzgado() && sinUsar[o.e.MessageID] {
			o.primeraVez = true
			delete(sinUsar, o.e.MessageID) // later copies in the batch are duplicates
		}
	}
	return nil
}

// desconocido: the op's comprobante is not in the table.
func (o *op) desconocido() bool { return !o.Registro && o.lockedRow == nil }

// juzgado: the op goes through the inbox and the state machine now (a webhook still to be
// confirmed waits instead, out of the inbox: see estado.Recibida.PorVerificar).
func (o *op) juzgado() bool { return !o.Registro && o.lockedRow != nil && !o.e.PorVerificar }

// columnasCampos are the comprobante's columns of contracts' fields, named as their JSON
// names, in bit order: what the row holds of each, for contracts.CamposNoVacios.
var columnasCampos = "c." + strings.Join(contracts.TodosLosCampos.Nombres(), ", c.")

// decidir judges one op against the state of its row as the batch has left it so far.
func (l *batch) decidir(ctx context.Context, o *op) error {
	e := o.e
	switch {
	case o.Registro:
		o.veredicto = estado.Veredicto{Efecto: e.Reemplazo.Efecto, Motivo: e.Reemplazo.Motivo}
	case o.desconocido():
		o.veredicto = estado.Veredicto{Efecto: estado.Aparcado, Motivo: "el comprobante no está en la tabla: espera a que se inserte"}
	case e.PorVerificar:
		// Its comprobante was inserted after the webhook was checked: it waits, ready, to be
		// confirmed with NubeFacT like any parked webhook, never applied on its own word.
		o.veredicto = estado.Veredicto{Efecto: estado.Aparcado, Motivo: "el comprobante se insertó mientras se verificaba el lote: se confirma desde la espera"}
	case !o.primeraVez:
		o.veredicto = estado.Veredicto{Efecto: estado.Duplicado, Anterior: o.lockedRow.estado, Nuevo: o.lockedRow.estado, Motivo: "ID de mensaje ya procesado"}
	default:
		f, n := o.lockedRow, &e.Notificacion
		d := estado.Decidir(estado.Actual{Estado: f.estado, CodigoHash: deref(f.codigoHash), Vacios: f.vacios},
			estado.Entrante{Resultado: n.Resultado(), CodigoHash: deref(n.CodigoHash), Campos: n.Campos()})
		o.veredicto = estado.Veredicto{Efecto: d.Efecto, Anterior: f.estado, Nuevo: d.Nuevo, Motivo: d.Motivo}
		if d.Efecto != estado.Aplicado && d.Efecto != estado.Completado {
			break
		}
		if f.cambiando { // a second change of one row in a batch: send the first one before
			if err := l.flush(ctx); err != nil {
				return err
			}
		}
		l.queued = append(l.queued, cambio{op: o, lockedRow: f, anterior: f.estado, nuevo: d.Nuevo, completar: d.Completar})
		f.cambiando, f.estado = true, d.Nuevo
		if d.Efecto == estado.Completado {
			f.vacios &^= d.Completar
		} else {
			f.vacios &^= n.Campos()
			if n.CodigoHash != nil {
				f.codigoHash = n.CodigoHash
			}
		}
	}
	if e.Nota != "" {
		o.veredicto.Motivo += "; " + e.Nota
	}
	if !e.AparcadaEn.IsZero() && o.veredicto.Efecto != estado.Aparcado {
		o.veredicto.Motivo += fmt.Sprintf("; esperó %s a su comprobante", time.Since(e.AparcadaEn).Round(time.Second))
	}
	return nil
}

// flush updates the rows of the pending changes in one statement, conditional on the estado
// each was read with (the seed's idempotency rule, kept even though the rows are locked), and
// builds their events from what the rows hold afterwards.
//
// A change of estado takes the notification's links and texts, but a null or empty one keeps
// the stored value: an anulación does not erase the CDR of the acceptance it voids. A
// completion (completar ≠ 0) fills in only the fields it names, which were empty, and leaves the
// estado, the hash, the code and estado_final_en as they were.
func (l *batch) flush(ctx context.Context) error {
	if len(l.queued) == 0 {
		return nil
	}
	k := len(l.queued)
	porID := make(map[int64]*cambio, k)
	for i := range l.queued {
		porID[l.queued[i].lockedRow.id] = &l.queued[i]
	}
	rows, err := l.tx.Query(ctx, actualizarComprobantes,
		l.flushParams()...)
	if err != nil {
		return wrap("update comprobantes", err)
	}
	defer rows.Close()
	actualizadas := 0
	for rows.Next() {
		var id int64
		var d contracts.ComprobanteEvento
		var actualizado, reloj time.Time
		if err := rows.Scan(&id, &d.Enlace, &d.EnlaceDelPDF, &d.EnlaceDelXML, &d.EnlaceDelCDR, &d.CodigoHash,
			&d.SunatResponsecode, &d.SunatDescription, &d.SunatNote, &d.EstadoFinalEn, &d.FechaDeEmision, &actualizado, &reloj); err != nil {
			return wrap("update comprobantes", err)
		}
		if reloj.After(l.reloj) {
			l.reloj = reloj
		}
		if err := l.enqueueEvent(porID[id], d, actualizado); err != nil {
			return err
		}
		actualizadas++
	}
	if err := rows.Err(); err != nil {
		return wrap("update comprobantes", err)
	}
	if actualizadas != k {
		return fmt.Errorf("update comprobantes: %d of %d: %w", k-actualizadas, k, ErrRowsChanged)
	}
	for _, c := range l.queued {
		c.lockedRow.cambiando = false
	}
	l.queued = l.queued[:0]
	return nil
}

// actualizarComprobantes is flush's UPDATE. Each field of contracts.Campos is set by its name (the
// column's) and its bit (in completar), both taken from contracts.TodosLosCampos: no mask to keep
// in step with the iota. Its RETURNING reads the row back by column name, for the event.
var actualizarComprobantes = func() string {
	var set, types, cols strings.Builder
	for i, campo := range contracts.TodosLosCampos.Nombres() {
		fmt.Fprintf(&set, `
			%[1]s = CASE WHEN u.completar = 0 THEN coalesce(nullif(u.%[1]s, ''), c.%[1]s)
				WHEN u.completar & %[2]d <> 0 THEN u.%[1]s ELSE c.%[1]s END,`, campo, 1<<i)
		fmt.Fprintf(&types, " $%d::text[],", 4+i)
		fmt.Fprintf(&cols, " %s,", campo)
	}
	n := len(contracts.TodosLosCampos.Nombres())
	return fmt.Sprintf(`UPDATE comprobantes c SET
			estado = u.nuevo,%s
			codigo_hash = CASE WHEN u.completar = 0 THEN coalesce(u.hash, c.codigo_hash) ELSE c.codigo_hash END,
			sunat_responsecode = CASE WHEN u.completar = 0 THEN coalesce(u.code, c.sunat_responsecode) ELSE c.sunat_responsecode END,
			estado_final_en = CASE WHEN u.completar = 0 THEN clock_timestamp() ELSE c.estado_final_en END,
			actualizado_en = now()
		FROM unnest($1::bigint[], $2::text[], $3::text[],%s $%d::text[], $%d::text[], $%d::smallint[])
			AS u(id, anterior, nuevo,%s hash, code, completar)
		WHERE c.id = u.id AND c.estado = u.anterior
		RETURNING c.id, c.enlace, c.enlace_del_pdf, c.enlace_del_xml, c.enlace_del_cdr, c.codigo_hash,
			c.sunat_responsecode, c.sunat_description, c.sunat_note, c.estado_final_en, to_char(c.fecha_de_emision, 'YYYY-MM-DD'),
			c.actualizado_en, clock_timestamp()`, set.String(), types.String(), 4+n, 5+n, 6+n, cols.String())
}()

// flushParams are the UPDATE's arrays, one element per pending change: the ids, the estados
// before and after, each field of contracts.Campos in its order, the hash, the code, completar.
func (l *batch) flushParams() []any {
	k := len(l.queued)
	ids := make([]int64, k)
	completar := make([]int16, k)
	anteriores, nuevos := make([]string, k), make([]string, k)
	campos := make([][]*string, len(contracts.TodosLosCampos.Nombres()))
	for j := range campos {
		campos[j] = make([]*string, k)
	}
	hash, code := make([]*string, k), make([]*string, k)
	for i := range l.queued {
		c := &l.queued[i]
		n := &c.op.e.Notificacion
		ids[i], anteriores[i], nuevos[i], completar[i] = c.lockedRow.id, string(c.anterior), string(c.nuevo), int16(c.completar)
		for j, v := range n.Valores() {
			campos[j][i] = v
		}
		hash[i], code[i] = n.CodigoHash, n.SunatResponsecode
	}
	params := []any{ids, anteriores, nuevos}
	for _, c := range campos {
		params = append(params, c)
	}
	return append(params, hash, code, completar)
}

// enqueueEvent builds the event of change c from what the row holds after the update (d, and
// when it was updated) and queues it for the outbox.
func (l *batch) enqueueEvent(c *cambio, d contracts.ComprobanteEvento, actualizado time.Time) error {
	clave := c.lockedRow.clave
	d.TipoDeComprobante, d.Serie, d.Numero = clave.TipoDeComprobante, clave.Serie, clave.Numero
	d.Estado, d.EstadoAnterior = contracts.Resultado(c.nuevo), string(c.anterior)
	d.Origen, d.NotificacionID = c.op.e.Origen, c.op.e.MessageID
	var ev contracts.Evento
	if c.completar != 0 {
		ev = contracts.NewEventoActualizado(d, c.completar, actualizado)
	} else {
		ev = contracts.NewEvento(d)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	c.op.veredicto.EventID = ev.ID
	l.outbox = append(l.outbox, []any{ev.ID, l.topo.SubjectDe(ev), body})
	return nil
}

// eventos are the events the batch wrote to the outbox, for a relay that publishes them itself
// (their outbox ID is not read back: the relay knows them by event ID).
func (l *batch) eventos() []estado.EventoPendiente {
	if l.claim == 0 {
		return nil
	}
	out := make([]estado.EventoPendiente, len(l.outbox))
	for i, row := range l.outbox {
		out[i] = estado.EventoPendiente{EventID: row[0].(string), Subject: row[1].(string), Evento: row[2].([]byte)}
	}
	return out
}

// enqueueEvents writes the batch's events to the outbox with COPY: each event ID is written once
// (a comprobante enters each state at most once), so no conflict handling is needed, and COPY
// streams the JSON instead of building one huge parameter.
func (l *batch) enqueueEvents(ctx context.Context) error {
	if len(l.outbox) == 0 {
		return nil
	}
	columns, rows := []string{"event_id", "subject", "evento"}, l.outbox
	if l.claim != 0 {
		// The claim is counted by Postgres's clock (the one the sweep compares it with), from
		// the batch's last update, after its locks: not by the reconciler's clock.
		until := l.reloj.Add(l.claim)
		columns, rows = append(columns, "claimed_until"), make([][]any, len(l.outbox))
		for i, row := range l.outbox {
			rows[i] = append(row[:3:3], until)
		}
	}
	_, err := l.tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, columns, pgx.CopyFromRows(rows))
	return wrap("outbox", err)
}

var columnasAuditoria = []string{"message_id", "origen", "recibido_en", "remitente", "stream_seq", "tipo_de_comprobante",
	"serie", "numero", "resultado", "efecto", "estado_anterior", "estado_nuevo", "motivo", "payload"}

// auditar appends one audit row per op, in order, with COPY; not for those refused for want of
// room (their dead letter is their record).
func (l *batch) auditar(ctx context.Context, ops []*op) error {
	rows := make([][]any, 0, len(ops))
	for _, o := range ops {
		e, s := o.e, o.veredicto
		if s.Efecto == estado.SinEspacio {
			continue
		}
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

// aparcar stores the notifications whose comprobante is not in the table, in one statement. A
// notification parked again (NubeFacT retried it, or ops replayed it) counts one more time. It
// is ready at once if the comprobante was inserted meanwhile.
//
// Once tope (PARKED_MAX) notifications wait, none is parked: they become SinEspacio, for the
// worker to dead-letter. The count is the deltas the triggers keep (aparcadas_conteo), read
// once per batch that has something to park; it does not see the batches committing
// concurrently, so each of those may still park its own: the cap is exceeded by a batch per
// worker at most, never by a flood.
func (l *batch) aparcar(ctx context.Context, ops []*op) error {
	if err := l.topeAlcanzado(ctx, ops); err != nil {
		return err
	}
	var ids, origenes, series, motivos, payloads []string
	var remitentes []*string
	var recibidos []time.Time
	var tipos []int16
	var numeros, intentos []int32
	for _, o := range ops {
		if o.veredicto.Efecto != estado.Aparcado {
			continue
		}
		e, c := o.e, o.e.Notificacion.Clave()
		ids, origenes, recibidos, remitentes = append(ids, e.MessageID), append(origenes, e.Origen), append(recibidos, e.Recibido), append(remitentes, nullable(e.Remitente))
		tipos, series, numeros = append(tipos, int16(c.TipoDeComprobante)), append(series, c.Serie), append(numeros, int32(c.Numero))
		motivos, intentos, payloads = append(motivos, o.veredicto.Motivo), append(intentos, int32(e.Intentos)), append(payloads, string(e.Payload))
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := l.tx.Exec(ctx, `INSERT INTO aparcadas (message_id, origen, recibido_en, remitente,
			tipo_de_comprobante, serie, numero, motivo, intentos, payload, lista)
		SELECT DISTINCT ON (u.id) u.id, u.origen, u.recibido, u.remitente, u.tipo, u.serie, u.numero, u.motivo,
			u.intentos, u.payload, EXISTS (SELECT 1 FROM comprobantes c
				WHERE c.tipo_de_comprobante = u.tipo AND c.serie = u.serie AND c.numero = u.numero)
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::smallint[], $6::text[],
			$7::integer[], $8::text[], $9::integer[], $10::text[])
			AS u(id, origen, recibido, remitente, tipo, serie, numero, motivo, intentos, payload)
		ON CONFLICT (message_id) DO UPDATE SET motivo = excluded.motivo, intentos = excluded.intentos,
			veces = aparcadas.veces + 1, reenviada_en = NULL,
			lista = aparcadas.lista OR excluded.lista`,
		ids, origenes, recibidos, remitentes, tipos, series, numeros, motivos, intentos, payloads)
	return wrap("park", err)
}

// topeAlcanzado turns the batch's notifications to park into SinEspacio when tope are waiting.
func (l *batch) topeAlcanzado(ctx context.Context, ops []*op) error {
	if l.tope <= 0 || !slices.ContainsFunc(ops, func(o *op) bool { return o.veredicto.Efecto == estado.Aparcado }) {
		return nil
	}
	n, err := contarAparcadas(ctx, l.tx)
	if err != nil || n < l.tope {
		return err
	}
	for _, o := range ops {
		if o.veredicto.Efecto == estado.Aparcado {
			o.veredicto = estado.Veredicto{Efecto: estado.SinEspacio,
				Motivo: fmt.Sprintf("el comprobante no está en la tabla y ya esperan %d notificaciones (PARKED_MAX %d): no se aparca", n, l.tope)}
		}
	}
	return nil
}

// resolverAparcadas deletes the parked notifications this batch judged: those applied from the
// aparcadas table, and replays (`reconciler replay`, Reenviar) whose comprobante exists now.
func (l *batch) resolverAparcadas(ctx context.Context, ops []*op) error {
	var ids []string
	for _, o := range ops {
		e := o.veredicto.Efecto
		if e != estado.Aparcado && e != estado.SinEspacio && (!o.e.AparcadaEn.IsZero() || o.e.Reenvio) {
			ids = append(ids, o.e.MessageID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := l.tx.Exec(ctx, `DELETE FROM aparcadas WHERE message_id = ANY($1)`, ids)
	return wrap("resolve parked", err)
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
