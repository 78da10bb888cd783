package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/jackc/pgx/v5"
)

const columnasAparcada = `message_id, origen, recibido_en, remitente, tipo_de_comprobante, serie, numero, motivo,
	intentos, aparcada_en, veces, reenviada_en, lista`

// Aparcadas reads a page of parked notifications, oldest parked first: keyset pagination on
// aparcadas_aparcada_en_id, so reading the 100,000th page costs what the first does.
func (s *Store) Aparcadas(ctx context.Context, p estado.PaginaAparcadas) ([]estado.Aparcada, error) {
	cols := columnasAparcada
	if p.Payload {
		cols += ", payload"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM aparcadas
		WHERE ($1 OR reenviada_en IS NULL) AND (aparcada_en, message_id) > ($2, $3)
		ORDER BY aparcada_en, message_id LIMIT $4`, p.Todas, p.Despues.AparcadaEn, p.Despues.MessageID, p.Limit)
	if err != nil {
		return nil, wrap("list parked", err)
	}
	a, err := pgx.AppendRows(make([]estado.Aparcada, 0, min(p.Limit, estado.TamanoPagina)), rows, pgx.RowToStructByNameLax[estado.Aparcada])
	return a, wrap("list parked", err)
}

// AparcadasPorID reads the parked notifications named, with their payloads, in the order of
// Aparcadas; message IDs that are not parked are left out.
func (s *Store) AparcadasPorID(ctx context.Context, ids []string) ([]estado.Aparcada, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columnasAparcada+`, payload FROM aparcadas
		WHERE message_id = ANY($1) ORDER BY aparcada_en, message_id`, ids)
	if err != nil {
		return nil, wrap("read parked", err)
	}
	a, err := pgx.CollectRows(rows, pgx.RowToStructByName[estado.Aparcada])
	return a, wrap("read parked", err)
}

// ContarAparcadas returns how many notifications are parked, from the deltas the triggers keep
// (aparcadas_conteo), which it folds into one row first: no count of the table.
func (s *Store) ContarAparcadas(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Concurrent folds each take the rows they deleted: none is counted twice.
		if _, err := tx.Exec(ctx, `WITH d AS (DELETE FROM aparcadas_conteo RETURNING n)
			INSERT INTO aparcadas_conteo SELECT sum(n) FROM d HAVING count(*) > 0`); err != nil {
			return err
		}
		var err error
		n, err = contarAparcadas(ctx, tx)
		return err
	})
	return n, wrap("count parked", err)
}

func contarAparcadas(ctx context.Context, tx pgx.Tx) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM aparcadas_conteo`).Scan(&n)
	return n, err
}

// MarcarReenviadas records that parked notifications were published again.
func (s *Store) MarcarReenviadas(ctx context.Context, messageIDs []string) error {
	_, err := s.pool.Exec(ctx, `UPDATE aparcadas SET reenviada_en = now() WHERE message_id = ANY($1)`, messageIDs)
	return wrap("mark replayed", err)
}

// consultaListas selects up to $1 ready parked notifications (only the message IDs $2 when
// that is not empty) in the order they were received: an aceptado before its anulación.
const consultaListas = `SELECT ` + columnasAparcada + `, payload FROM aparcadas
	WHERE lista AND (coalesce(cardinality($2::text[]), 0) = 0 OR message_id = ANY($2))
	ORDER BY recibido_en, aparcada_en, message_id LIMIT $1`

// AplicarListas applies, in one transaction, up to o.Limit parked notifications whose
// comprobante has been inserted, in the order they were received (an aceptado before its
// anulación), with the same inbox, audit, outbox and event rules as any other notification, and
// removes them from the aparcadas table. FOR UPDATE SKIP LOCKED lets several reconcilers share
// the work, each notification applied once. A payload decode no longer accepts (the rules
// changed since it was parked) is discarded, with its reason in the audit. It returns the
// message IDs it took, the notifications it applied and what each of those did.
//
// Webhooks to confirm with NubeFacT first (VERIFY_WEBHOOKS) take the two steps LeerListas and
// AplicarVerificadas instead, so that no row stays locked while NubeFacT is asked.
func (s *Store) AplicarListas(ctx context.Context, topo contracts.Topologia, o estado.Listas) (tomadas []string, aplicadas []estado.Recibida, veredictos []estado.Veredicto, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, consultaListas+` FOR UPDATE SKIP LOCKED`, o.Limit, o.IDs)
		if err != nil {
			return err
		}
		var invalidas []estado.Aparcada
		var motivos []string
		tomadas, aplicadas, invalidas, motivos, err = decodificar(rows, o.Decode)
		if err != nil || len(tomadas) == 0 {
			return err
		}
		if err := descartar(ctx, tx, invalidas, motivos); err != nil {
			return err
		}
		// Already parked: applying them again parks no new row, the cap does not apply.
		veredictos, _, err = aplicar(ctx, tx, topo, aplicadas, 0, 0)
		return err
	})
	return tomadas, aplicadas, veredictos, wrap("apply parked", err)
}

// LeerListas claims, for o.Claim, up to o.Limit ready parked notifications that no other
// reconciler has claimed, in the order AplicarListas takes them, and returns their message IDs
// and those that decode, for the caller to verify before AplicarVerificadas applies them or keeps
// them waiting. No row stays locked while the caller asks NubeFacT; the claim keeps another
// reconciler from verifying the same ones meanwhile, and expires should the caller die. With
// o.IDs it takes those, claimed or not (the caller taking back its own, one by one). Those
// decode no longer accepts are discarded, as AplicarListas does, and left out.
func (s *Store) LeerListas(ctx context.Context, o estado.Listas) (tomadas []string, recibidas []estado.Recibida, err error) {
	rows, err := s.pool.Query(ctx, `UPDATE aparcadas a SET claimed_until = now() + $3::interval
		FROM (SELECT message_id FROM aparcadas WHERE lista AND (coalesce(cardinality($2::text[]), 0) = 0
				AND (claimed_until IS NULL OR claimed_until < now()) OR message_id = ANY($2))
			ORDER BY recibido_en, aparcada_en, message_id LIMIT $1 FOR UPDATE SKIP LOCKED) AS t(tomada)
		WHERE a.message_id = t.tomada
		RETURNING `+columnasAparcada+`, payload`, o.Limit, o.IDs, o.Claim)
	if err != nil {
		return nil, nil, wrap("read parked", err)
	}
	tomadas, recibidas, invalidas, motivos, err := decodificar(rows, o.Decode)
	if err != nil {
		return nil, nil, wrap("read parked", err)
	}
	// RETURNING follows no ORDER BY: the order AplicarListas applies them in (an aceptado before
	// its anulación) is set here.
	slices.SortFunc(recibidas, func(a, b estado.Recibida) int {
		return cmp.Or(a.Recibido.Compare(b.Recibido), a.AparcadaEn.Compare(b.AparcadaEn), cmp.Compare(a.MessageID, b.MessageID))
	})
	if len(invalidas) == 0 {
		return tomadas, recibidas, nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return descartar(ctx, tx, invalidas, motivos) })
	return tomadas, recibidas, wrap("discard parked", err)
}

// decodificar decodes the parked notifications rows holds. It returns the message IDs of every
// row, the notifications that decoded, and those decode refuses with the reason of each.
func decodificar(rows pgx.Rows, decode func([]byte) (contracts.Notificacion, error)) (ids []string, recibidas []estado.Recibida, invalidas []estado.Aparcada, motivos []string, err error) {
	listas, err := pgx.CollectRows(rows, pgx.RowToStructByName[estado.Aparcada])
	if err != nil || len(listas) == 0 {
		return nil, nil, nil, nil, err
	}
	ids = make([]string, 0, len(listas))
	recibidas = make([]estado.Recibida, 0, len(listas))
	for _, a := range listas {
		ids = append(ids, a.MessageID)
		n, err := decode([]byte(a.Payload))
		if err != nil {
			invalidas, motivos = append(invalidas, a), append(motivos, "ya no es válida: "+err.Error())
			continue
		}
		recibidas = append(recibidas, estado.Recibida{
			MessageID: a.MessageID, Notificacion: n, Payload: []byte(a.Payload), Origen: a.Origen,
			Recibido: a.RecibidoEn, Remitente: deref(a.Remitente), Intentos: a.Intentos, AparcadaEn: a.AparcadaEn,
		})
	}
	return ids, recibidas, invalidas, motivos, nil
}

// AplicarVerificadas applies, in one transaction, parked notifications LeerListas claimed and the
// caller verified meanwhile (their Reemplazo and Nota say what NubeFacT answered), and keeps
// those of esperar waiting: NubeFacT could not confirm them yet. Each of those counts one more
// attempt and is no longer ready, until the next full sweep (MarcarListas) marks it again; a
// message ID in both lists waits. Only the rows still ready that it locks (FOR UPDATE SKIP
// LOCKED) count: a notification another reconciler took since it was read, applied or kept
// waiting, is skipped, never applied twice. The rules and the results are AplicarListas'.
func (s *Store) AplicarVerificadas(ctx context.Context, topo contracts.Topologia, recibidas []estado.Recibida, esperar []string) (tomadas []string, aplicadas []estado.Recibida, veredictos []estado.Veredicto, err error) {
	ids := make([]string, 0, len(recibidas)+len(esperar))
	for _, e := range recibidas {
		ids = append(ids, e.MessageID)
	}
	ids = append(ids, esperar...)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT message_id FROM aparcadas WHERE lista AND message_id = ANY($1)
			ORDER BY message_id FOR UPDATE SKIP LOCKED`, ids)
		if err != nil {
			return err
		}
		tomadas, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tomadas) == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE aparcadas SET intentos = intentos + 1, lista = false, claimed_until = NULL
			WHERE message_id = ANY($1) AND message_id = ANY($2)`, esperar, tomadas); err != nil {
			return err
		}
		tomada := make(map[string]bool, len(tomadas))
		for _, id := range tomadas {
			tomada[id] = true
		}
		for _, id := range esperar {
			delete(tomada, id)
		}
		aplicadas = make([]estado.Recibida, 0, len(recibidas))
		for _, e := range recibidas {
			if tomada[e.MessageID] {
				aplicadas = append(aplicadas, e)
			}
		}
		veredictos, _, err = aplicar(ctx, tx, topo, aplicadas, 0, 0)
		return err
	})
	return tomadas, aplicadas, veredictos, wrap("apply parked", err)
}

// Existentes returns which of claves are in the comprobantes table.
func (s *Store) Existentes(ctx context.Context, claves []contracts.Clave) (map[contracts.Clave]bool, error) {
	tipos, series, numeros := make([]int16, len(claves)), make([]string, len(claves)), make([]int32, len(claves))
	for i, c := range claves {
		tipos[i], series[i], numeros[i] = int16(c.TipoDeComprobante), c.Serie, int32(c.Numero)
	}
	rows, err := s.pool.Query(ctx, `SELECT c.tipo_de_comprobante, c.serie, c.numero FROM comprobantes c
		JOIN unnest($1::smallint[], $2::text[], $3::integer[]) AS k(tipo, serie, numero)
		  ON c.tipo_de_comprobante = k.tipo AND c.serie = k.serie AND c.numero = k.numero`, tipos, series, numeros)
	if err != nil {
		return nil, wrap("find comprobantes", err)
	}
	out := make(map[contracts.Clave]bool, len(claves))
	var c contracts.Clave
	var tipo int16
	_, err = pgx.ForEachRow(rows, []any{&tipo, &c.Serie, &c.Numero}, func() error {
		c.TipoDeComprobante = int(tipo)
		out[c] = true
		return nil
	})
	return out, wrap("find comprobantes", err)
}

// MarcarListas marks as ready the parked notifications whose comprobante exists, among those
// parked within the last `recientes` (all of them when 0). The INSERT trigger does this as the
// billing system inserts a comprobante; this sweep covers a notification parked by a
// transaction that could not yet see a comprobante being inserted concurrently, which is always
// a recent one. It returns how many it marked.
func (s *Store) MarcarListas(ctx context.Context, recientes time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE aparcadas a SET lista = true FROM comprobantes c
		WHERE NOT a.lista AND ($1::interval = '0' OR a.aparcada_en > now() - $1::interval)
		  AND c.tipo_de_comprobante = a.tipo_de_comprobante AND c.serie = a.serie AND c.numero = a.numero`, recientes)
	return tag.RowsAffected(), wrap("mark parked ready", err)
}

// Descartar removes parked notifications that will never match a comprobante, recording each in
// the audit (efecto descartado) with the reason and who asked. It returns the ones discarded;
// message IDs that are not parked are ignored.
func (s *Store) Descartar(ctx context.Context, messageIDs []string, motivo string) ([]estado.Aparcada, error) {
	return s.descartarDonde(ctx, `message_id = ANY($1)`, messageIDs, motivo)
}

// DescartarAntiguas discards, with motivo, up to DescartesPorLlamada parked notifications that have waited
// longer than maxEspera, oldest first; never one whose comprobante exists now (it is about to be
// applied). Call it again while it returns DescartesPorLlamada.
func (s *Store) DescartarAntiguas(ctx context.Context, maxEspera time.Duration, motivo string) ([]estado.Aparcada, error) {
	return s.descartarDonde(ctx, `message_id IN (SELECT message_id FROM aparcadas
		WHERE NOT lista AND aparcada_en < now() - $1::interval ORDER BY aparcada_en LIMIT `+strconv.Itoa(estado.DescartesPorLlamada)+`)`,
		maxEspera, motivo)
}

func (s *Store) descartarDonde(ctx context.Context, where string, arg any, motivo string) ([]estado.Aparcada, error) {
	var out []estado.Aparcada
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM aparcadas WHERE `+where+`
			RETURNING message_id, origen, recibido_en, remitente, tipo_de_comprobante, serie, numero, motivo,
				intentos, payload, aparcada_en, veces, reenviada_en, lista`, arg)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByName[estado.Aparcada])
		if err != nil {
			return err
		}
		motivos := make([]string, len(out))
		for i := range out {
			motivos[i] = motivo
		}
		return auditarDescarte(ctx, tx, out, motivos)
	})
	return out, wrap("discard parked", err)
}

// descartar deletes parked notifications and records why: only those it deleted, so that a
// notification two reconcilers read at once (LeerListas) is audited once.
func descartar(ctx context.Context, tx pgx.Tx, as []estado.Aparcada, motivos []string) error {
	if len(as) == 0 {
		return nil
	}
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.MessageID
	}
	rows, err := tx.Query(ctx, `DELETE FROM aparcadas WHERE message_id = ANY($1) RETURNING message_id`, ids)
	if err != nil {
		return wrap("discard parked", err)
	}
	borradas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return wrap("discard parked", err)
	}
	var auditadas []estado.Aparcada
	var porque []string
	for i, a := range as {
		if slices.Contains(borradas, a.MessageID) {
			auditadas, porque = append(auditadas, a), append(porque, motivos[i])
		}
	}
	return auditarDescarte(ctx, tx, auditadas, porque)
}

func auditarDescarte(ctx context.Context, tx pgx.Tx, as []estado.Aparcada, motivos []string) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([][]any, len(as))
	for i, a := range as {
		resultado := contracts.SinResultado
		if n, err := contracts.Decode([]byte(a.Payload)); err == nil {
			resultado = n.Resultado()
		}
		rows[i] = []any{a.MessageID, a.Origen, a.RecibidoEn, a.Remitente, nil, int16(a.TipoDeComprobante), a.Serie,
			int32(a.Numero), string(resultado), string(estado.Descartado), nil, nil,
			fmt.Sprintf("%s; esperó %s", motivos[i], time.Since(a.AparcadaEn).Round(time.Second)), a.Payload}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"notificaciones"}, columnasAuditoria, pgx.CopyFromRows(rows))
	return wrap("audit discard", err)
}
