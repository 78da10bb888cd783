package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Aparcada is a parked notification: its comprobante never appeared in the table within the
// retry budget.
type Aparcada struct {
	MessageID         string     `db:"message_id"`
	Origen            string     `db:"origen"`
	RecibidoEn        time.Time  `db:"recibido_en"`
	Remitente         *string    `db:"remitente"`
	TipoDeComprobante int        `db:"tipo_de_comprobante"`
	Serie             string     `db:"serie"`
	Numero            int        `db:"numero"`
	Motivo            string     `db:"motivo"`
	Intentos          int        `db:"intentos"`
	Payload           string     `db:"payload"`
	AparcadaEn        time.Time  `db:"aparcada_en"`
	Veces             int        `db:"veces"`
	ReenviadaEn       *time.Time `db:"reenviada_en"`
}

// Aparcadas lists parked notifications, oldest first; with todas false only those not replayed yet.
func (s *Store) Aparcadas(ctx context.Context, todas bool) ([]Aparcada, error) {
	rows, err := s.pool.Query(ctx, `SELECT message_id, origen, recibido_en, remitente, tipo_de_comprobante,
			serie, numero, motivo, intentos, payload, aparcada_en, veces, reenviada_en
		FROM aparcadas WHERE $1 OR reenviada_en IS NULL ORDER BY aparcada_en, message_id`, todas)
	if err != nil {
		return nil, wrap("list parked", err)
	}
	a, err := pgx.CollectRows(rows, pgx.RowToStructByName[Aparcada])
	return a, wrap("list parked", err)
}

// MarcarReenviada records that a parked notification was published again.
func (s *Store) MarcarReenviada(ctx context.Context, messageID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE aparcadas SET reenviada_en = now() WHERE message_id = $1`, messageID)
	return wrap("mark replayed", err)
}
