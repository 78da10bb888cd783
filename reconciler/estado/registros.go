package estado

import (
	"errors"
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// The records the store reads back for the console, the command line and the metrics: rows of
// the comprobantes table, of the audit (notificaciones), of the console's actions, of the
// regularizaciones, and the cursors of their pages. Plain values: the store fills them.

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
func (c Comprobante) Dia() Dia {
	if c.FechaDeEmision != nil {
		return DiaDeFecha(*c.FechaDeEmision)
	}
	return DiaEnLima(c.CreadoEn)
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

// CursorHistoria is where a page of a comprobante's timeline ends: the next page holds the
// audit rows before Auditada and the actions before Accion (by id; 0: no bound).
type CursorHistoria struct {
	Auditada, Accion int64
}

// MaxPayloadMostrado is how much of a payload the console's pages show: a webhook of NubeFacT
// weighs about 2 KiB; what is larger is cut there (the audit keeps it whole).
const MaxPayloadMostrado = 8 << 10

// ConflictoAuditado is a conflict of the audit beside what the comprobante holds now, and its
// review.
type ConflictoAuditado struct {
	Auditada
	Clave       contracts.Clave
	Guardado    *Comprobante // its estado, codigo_hash and enlace_del_cdr; nil if the row is gone
	RevisadoPor string       // set when reviewed (RevisadoEn not nil)
	Nota        string
	RevisadoEn  *time.Time
}

// CursorConflicto is where a page of ConflictoAuditado ends: the next page starts after it.
type CursorConflicto struct {
	Revisado bool
	ID       int64 // 0: from the first
}

// Cursor is where the page that ends with c ends.
func (c ConflictoAuditado) Cursor() CursorConflicto {
	return CursorConflicto{Revisado: c.RevisadoEn != nil, ID: c.ID}
}

// ErrNoEsConflicto: the audit row to mark reviewed is not a conflict.
var ErrNoEsConflicto = errors.New("that notification is not a conflict")

// PendienteDia is a pending comprobante and its day of issue.
type PendienteDia struct {
	ID    int64
	Clave contracts.Clave
	Dia   Dia
}

// FiltroPendientes selects pending comprobantes for the console. Zero fields do not filter;
// Desde and Hasta bound the day of issue, inclusive.
type FiltroPendientes struct {
	Tipo         int
	Serie        string
	Desde, Hasta Dia
}

// Cursor is where a page of PendientesPorDia ends: the next page starts after it.
type Cursor struct {
	Dia Dia
	ID  int64
}

// ConteoReciente counts the comprobantes of one tipo and estado issued today and in the last 7
// days (today included), days in Lima.
type ConteoReciente struct {
	Tipo        int
	Estado      string
	Hoy, Semana int64
}

// Foto is what the metrics read from Postgres at one moment: a handful of queries on indexes
// fit for them, cheap at a million comprobantes (docs/monitoring.md gives their times).
type Foto struct {
	// Comprobantes counts the rows by tipo and estado (comprobantes_conteo, kept by triggers).
	Comprobantes []ConteoEstado
	// PendientesPorDia counts the pending rows by tipo and day of issue in Lima.
	PendientesPorDia []PendientesDia
	// Aparcadas counts the parked notifications whose comprobante is still not in the table,
	// and AparcadasDesde is when the oldest of them was parked (zero when none).
	Aparcadas      int64
	AparcadasDesde time.Time
	// Conflictos counts the audit's conflicts no operator has marked reviewed.
	Conflictos int64
	// Outbox counts the events not yet published, and OutboxOldest is the oldest one's creation.
	Outbox       int64
	OutboxOldest time.Time
	// Regularizaciones counts the finished runs by resultado; UltimaRegularizacion is when the
	// last one ended and UltimoResultado how (empty when none has).
	Regularizaciones     map[string]int64
	UltimaRegularizacion time.Time
	UltimoResultado      string
}

// ConteoEstado is the number of comprobantes of one tipo in one
type ConteoEstado struct {
	Tipo   int
	Estado string
	N      int64
}

// Regularizacion is one recorded run.
type Regularizacion struct {
	ID           int64      `db:"id"`
	Origen       string     `db:"origen"`
	Filtro       string     `db:"filtro"`
	IniciadaEn   time.Time  `db:"iniciada_en"`
	TerminadaEn  *time.Time `db:"terminada_en"`
	Resultado    *string    `db:"resultado"`
	Detalle      *string    `db:"detalle"`
	Total        int64      `db:"total"`
	Consultados  int64      `db:"consultados"`
	Aceptadas    int64      `db:"aceptadas"`
	Rechazadas   int64      `db:"rechazadas"`
	Anuladas     int64      `db:"anuladas"`
	SinResultado int64      `db:"sin_resultado"`
	NoExiste     int64      `db:"no_existe"`
	Errores      int64      `db:"errores"`
	Publicadas   int64      `db:"publicadas"`
	// Who asked to stop it from the console (Detener), and when.
	DetencionPedidaPor *string    `db:"detencion_pedida_por"`
	DetencionPedidaEn  *time.Time `db:"detencion_pedida_en"`
}

// NoResuelta is one line of a run's report.
type NoResuelta struct {
	Clave   contracts.Clave
	Motivo  string
	Detalle string
}

// DeadLetter is one message of the dead-letter stream, as the console lists it.
type DeadLetter struct {
	Seq       uint64    // its sequence in the dead-letter stream
	Stored    time.Time // when the dead-letter stream stored it
	Reason    string
	Origen    string // as the message's header said it (contracts.CabeceraOrigen)
	MsgID     string // the notification's Nats-Msg-Id, when it had one
	StreamSeq string // its sequence in the notifications stream
	Payload   []byte
}
