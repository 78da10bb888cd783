package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Aplicar applies entradas in order in ONE transaction: for each, it de-duplicates by message
// ID (the inbox), decides by the state machine, updates the comprobante conditionally on its
// current estado, writes the event to the outbox and appends the audit row. Either all of it
// commits or none; on error the caller must not acknowledge any of the messages.
//
// A comprobante that is not in the table yields Desconocido and writes nothing (so a retry can
// still apply it), or Aparcado if the entrada says its budget is spent.
func (s *Store) Aplicar(ctx context.Context, entradas []Entrada, topo contracts.Topologia) ([]Salida, error) {
	out := make([]Salida, len(entradas))
	// Lock rows in key order, so that two reconcilers applying overlapping batches cannot
	// deadlock; the stable sort keeps the arrival order of notifications for one comprobante.
	orden := make([]int, len(entradas))
	for i := range orden {
		orden[i] = i
	}
	slices.SortStableFunc(orden, func(a, b int) int {
		return compararClave(entradas[a].Notificacion.Clave(), entradas[b].Notificacion.Clave())
	})
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, i := range orden {
			salida, err := aplicarUna(ctx, tx, &entradas[i], topo)
			if err != nil {
				return fmt.Errorf("apply %s: %w", entradas[i].MessageID, err)
			}
			out[i] = salida
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func compararClave(a, b contracts.Clave) int {
	return cmp.Or(cmp.Compare(a.TipoDeComprobante, b.TipoDeComprobante), strings.Compare(a.Serie, b.Serie), cmp.Compare(a.Numero, b.Numero))
}

type fila struct {
	id             int64
	estado         estado.Estado
	codigoHash     *string
	fechaDeEmision *time.Time
}

func aplicarUna(ctx context.Context, tx pgx.Tx, e *Entrada, topo contracts.Topologia) (Salida, error) {
	if e.NoConfirmada != "" {
		return aplicarNoConfirmada(ctx, tx, e, topo)
	}
	n := &e.Notificacion
	clave := n.Clave()
	var f fila
	err := tx.QueryRow(ctx, `SELECT id, estado, codigo_hash, fecha_de_emision FROM comprobantes
		WHERE tipo_de_comprobante = $1 AND serie = $2 AND numero = $3 FOR UPDATE`,
		clave.TipoDeComprobante, clave.Serie, clave.Numero).Scan(&f.id, &f.estado, &f.codigoHash, &f.fechaDeEmision)
	if errors.Is(err, pgx.ErrNoRows) {
		if !e.Aparcar {
			return Salida{Efecto: estado.Desconocido, Motivo: "el comprobante no está en la tabla"}, nil
		}
		motivo := fmt.Sprintf("el comprobante no apareció en la tabla tras %d intentos", e.Intentos)
		if err := aparcar(ctx, tx, e, motivo); err != nil {
			return Salida{}, err
		}
		s := Salida{Efecto: estado.Aparcado, Motivo: motivo}
		return s, auditar(ctx, tx, e, s)
	}
	if err != nil {
		return Salida{}, wrap("select comprobante", err)
	}

	tag, err := tx.Exec(ctx, `INSERT INTO inbox (message_id) VALUES ($1) ON CONFLICT DO NOTHING`, e.MessageID)
	if err != nil {
		return Salida{}, wrap("inbox", err)
	}
	if tag.RowsAffected() == 0 {
		s := Salida{Efecto: estado.Duplicado, Anterior: f.estado, Nuevo: f.estado, Motivo: "message ID ya procesado"}
		return s, auditar(ctx, tx, e, s)
	}

	d := estado.Decidir(estado.Actual{Estado: f.estado, CodigoHash: deref(f.codigoHash)}, n.Resultado(), deref(n.CodigoHash))
	s := Salida{Efecto: d.Efecto, Anterior: f.estado, Nuevo: d.Nuevo, Motivo: d.Motivo}
	if d.Efecto == estado.Aplicado {
		ev, err := cambiarEstado(ctx, tx, f, d.Nuevo, e)
		if err != nil {
			return Salida{}, err
		}
		s.EventID = ev.ID
		if err := encolarEvento(ctx, tx, topo.SubjectEvento(clave.TipoDeComprobante, contracts.Resultado(d.Nuevo)), ev); err != nil {
			return Salida{}, err
		}
	}
	return s, auditar(ctx, tx, e, s)
}

// aplicarNoConfirmada records a webhook NubeFacT contradicted as a conflict and applies
// NubeFacT's answer instead. If that answer's comprobante is unknown nothing is written, so that
// the retry finds everything as it was.
func aplicarNoConfirmada(ctx context.Context, tx pgx.Tx, e *Entrada, topo contracts.Topologia) (Salida, error) {
	s := Salida{Efecto: estado.Conflicto, Motivo: e.NoConfirmada}
	if e.Confirmacion != nil {
		var err error
		if s, err = aplicarUna(ctx, tx, e.Confirmacion, topo); err != nil || s.Efecto == estado.Desconocido {
			return s, err
		}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO inbox (message_id) VALUES ($1) ON CONFLICT DO NOTHING`, e.MessageID)
	if err != nil {
		return Salida{}, wrap("inbox", err)
	}
	efecto := Salida{Efecto: estado.Conflicto, Motivo: e.NoConfirmada}
	if tag.RowsAffected() == 0 {
		efecto = Salida{Efecto: estado.Duplicado, Motivo: "message ID ya procesado"}
	}
	if err := auditar(ctx, tx, e, efecto); err != nil {
		return Salida{}, err
	}
	if e.Confirmacion == nil {
		return efecto, nil
	}
	return s, nil
}

// cambiarEstado updates the row, conditional on the estado it was read with (the seed's
// idempotency rule, kept even though the row is locked), and builds the event from the result.
// Fields the notification leaves null keep their stored value: an anulación does not erase the
// CDR of the acceptance it voids.
func cambiarEstado(ctx context.Context, tx pgx.Tx, f fila, nuevo estado.Estado, e *Entrada) (contracts.Evento, error) {
	n := &e.Notificacion
	d := contracts.ComprobanteEvento{
		TipoDeComprobante: *n.TipoDeComprobante, Serie: *n.Serie, Numero: *n.Numero,
		Estado: contracts.Resultado(nuevo), EstadoAnterior: string(f.estado),
		Origen: e.Origen, NotificacionID: e.MessageID,
	}
	err := tx.QueryRow(ctx, `UPDATE comprobantes SET
			estado = $3,
			enlace = coalesce($4, enlace),
			enlace_del_pdf = coalesce($5, enlace_del_pdf),
			enlace_del_xml = coalesce($6, enlace_del_xml),
			enlace_del_cdr = coalesce($7, enlace_del_cdr),
			codigo_hash = coalesce($8, codigo_hash),
			sunat_responsecode = coalesce($9, sunat_responsecode),
			sunat_description = coalesce($10, sunat_description),
			sunat_note = coalesce($11, sunat_note),
			estado_final_en = now(),
			actualizado_en = now()
		WHERE id = $1 AND estado = $2
		RETURNING enlace, enlace_del_pdf, enlace_del_xml, enlace_del_cdr, codigo_hash,
			sunat_responsecode, sunat_description, sunat_note, estado_final_en, to_char(fecha_de_emision, 'YYYY-MM-DD')`,
		f.id, f.estado, nuevo, n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR, n.CodigoHash,
		n.SunatResponsecode, n.SunatDescription, n.SunatNote,
	).Scan(&d.Enlace, &d.EnlaceDelPDF, &d.EnlaceDelXML, &d.EnlaceDelCDR, &d.CodigoHash,
		&d.SunatResponsecode, &d.SunatDescription, &d.SunatNote, &d.EstadoFinalEn, &d.FechaDeEmision)
	if errors.Is(err, pgx.ErrNoRows) {
		return contracts.Evento{}, fmt.Errorf("comprobante %d left %s under our lock", f.id, f.estado)
	}
	if err != nil {
		return contracts.Evento{}, wrap("update comprobante", err)
	}
	return contracts.NuevoEvento(d), nil
}

func encolarEvento(ctx context.Context, tx pgx.Tx, subject string, ev contracts.Evento) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (event_id, subject, evento) VALUES ($1, $2, $3)
		ON CONFLICT (event_id) DO NOTHING`, ev.ID, subject, body)
	return wrap("outbox", err)
}

func auditar(ctx context.Context, tx pgx.Tx, e *Entrada, s Salida) error {
	c := e.Notificacion.Clave()
	_, err := tx.Exec(ctx, `INSERT INTO notificaciones (message_id, origen, recibido_en, remitente, stream_seq,
			tipo_de_comprobante, serie, numero, resultado, efecto, estado_anterior, estado_nuevo, motivo, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, nullif($11, ''), nullif($12, ''), $13, $14)`,
		e.MessageID, e.Origen, e.Recibido, nullable(e.Remitente), int64(e.StreamSeq),
		c.TipoDeComprobante, c.Serie, c.Numero, string(e.Notificacion.Resultado()), string(s.Efecto),
		string(s.Anterior), string(s.Nuevo), s.Motivo, string(e.Payload))
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
