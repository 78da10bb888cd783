package estado

import (
	"fmt"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// The aparcadas (notifications waiting for their comprobante) as the store reads them, the pages
// they are listed in, and the outbox's events, as the relay takes them.

// Aparcada is a parked notification: acknowledged on the stream, it waits here for its
// comprobante to be inserted.
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
	// Lista: its comprobante exists now; it is about to be applied.
	Lista bool `db:"lista"`
}

// Clave is the comprobante the notification waits for.
func (a Aparcada) Clave() contracts.Clave {
	return contracts.Clave{TipoDeComprobante: a.TipoDeComprobante, Serie: a.Serie, Numero: a.Numero}
}

// CursorAparcada is where a page of Aparcadas ends: the next page starts after it.
type CursorAparcada struct {
	AparcadaEn time.Time
	MessageID  string
}

// Cursor is where the page that ends with a ends.
func (a Aparcada) Cursor() CursorAparcada {
	return CursorAparcada{AparcadaEn: a.AparcadaEn, MessageID: a.MessageID}
}

// String writes the cursor as the console's links and `reconciler parked -after` take it.
func (c CursorAparcada) String() string {
	return c.AparcadaEn.UTC().Format(time.RFC3339Nano) + "_" + c.MessageID
}

// ParseCursorAparcada reads a cursor String wrote.
func ParseCursorAparcada(s string) (CursorAparcada, error) {
	t, id, ok := strings.Cut(s, "_")
	en, err := time.Parse(time.RFC3339Nano, t)
	if !ok || err != nil || id == "" {
		return CursorAparcada{}, fmt.Errorf("invalid cursor %q: want what the last page printed (time_messageid)", s)
	}
	return CursorAparcada{AparcadaEn: en, MessageID: id}, nil
}

// PaginaAparcadas says which page of parked notifications Aparcadas reads.
type PaginaAparcadas struct {
	Todas   bool           // those already replayed too
	Despues CursorAparcada // the page starts after it (zero: at the first)
	Limit   int
	// Payload: read the payloads too (to replay them). The lists leave them out: a payload
	// may weigh 64 KiB, and a page of them a few MiB.
	Payload bool
}

// TamanoPagina is the page size of every list of the console and the command line.
const TamanoPagina = 100

// Listas say which ready parked notifications LeerListas and AplicarListas take, and how
// they decode them.
type Listas struct {
	Limit  int
	IDs    []string // only these (all ready ones when empty)
	Decode func([]byte) (contracts.Notificacion, error)
	// Claim is how long LeerListas claims what it reads, for the caller to verify it.
	Claim time.Duration
}

// DescartesPorLlamada is how many DescartarAntiguas discards at most per call.
const DescartesPorLlamada = 1000

// EventoPendiente is an outbox row: an event not yet confirmed as published.
type EventoPendiente struct {
	ID      int64
	EventID string
	Subject string
	Evento  []byte
}
