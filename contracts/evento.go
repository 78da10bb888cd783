package contracts

import (
	"time"
)

// Event envelope constants (CloudEvents 1.0, structured JSON mode).
const (
	SpecVersion = "1.0"
	// FuenteReconciler is the CloudEvents source of every event the reconciler publishes.
	FuenteReconciler = "urn:hotelpe:boletas:reconciler"
	// EsquemaEventoV1 is the dataschema of version 1 of ComprobanteEvento; the JSON Schema
	// lives in schema/comprobante-evento.v1.schema.json.
	EsquemaEventoV1 = "urn:hotelpe:boletas:schema:comprobante-evento:v1"
	// VersionEvento is the current value of ComprobanteEvento.Version. It changes only when a
	// change would break an existing subscriber; new optional fields keep it.
	VersionEvento = 1
)

// Evento is a CloudEvents 1.0 envelope in structured JSON mode: what subscribers receive on
// "boleta.aceptada" and its siblings. The same ID is also the message's Nats-Msg-Id.
type Evento struct {
	SpecVersion     string            `json:"specversion"`
	ID              string            `json:"id"`
	Source          string            `json:"source"`
	Type            string            `json:"type"`
	Subject         string            `json:"subject"`
	Time            time.Time         `json:"time"`
	DataContentType string            `json:"datacontenttype"`
	DataSchema      string            `json:"dataschema"`
	Data            ComprobanteEvento `json:"data"`
}

// ComprobanteEvento is the data of an event: the comprobante as it stands after the change,
// with what a tax audit needs (CDR link, hash, SUNAT's code).
type ComprobanteEvento struct {
	Version           int       `json:"version"`
	TipoDeComprobante int       `json:"tipo_de_comprobante"`
	Serie             string    `json:"serie"`
	Numero            int       `json:"numero"`
	Estado            Resultado `json:"estado"`
	EstadoAnterior    string    `json:"estado_anterior"`
	FechaDeEmision    *string   `json:"fecha_de_emision"` // YYYY-MM-DD
	Enlace            *string   `json:"enlace"`
	EnlaceDelPDF      *string   `json:"enlace_del_pdf"`
	EnlaceDelXML      *string   `json:"enlace_del_xml"`
	EnlaceDelCDR      *string   `json:"enlace_del_cdr"`
	CodigoHash        *string   `json:"codigo_hash"`
	SunatResponsecode *string   `json:"sunat_responsecode"`
	SunatDescription  *string   `json:"sunat_description"`
	SunatNote         *string   `json:"sunat_note"`
	EstadoFinalEn     time.Time `json:"estado_final_en"`
	// Origen and NotificacionID say which notification caused the change (OrigenWebhook,
	// OrigenRegularizacion...), for tracing it back to the audit.
	Origen         string `json:"origen"`
	NotificacionID string `json:"notificacion_id"`
	// CamposCompletados, only on <tipo>.actualizada, names the fields a later notification
	// filled in while the estado stayed the same ("enlace_del_cdr"...).
	CamposCompletados []string `json:"campos_completados,omitempty"`
}

// NewEvento wraps data in its envelope. The ID and the type follow from the key and the new
// estado, so whoever builds the event for one state change builds the same one.
func NewEvento(data ComprobanteEvento) Evento {
	return envolver(data, EventID(data.clave(), data.Estado), TipoEvento(data.TipoDeComprobante, data.Estado))
}

// NewEventoActualizado wraps the data of a comprobante whose estado did not change but whose
// fields completados a notification filled in, at en: type "<tipo>.actualizada", ID
// EventIDUpdated, time en (data.estado_final_en stays when the estado was entered).
func NewEventoActualizado(data ComprobanteEvento, completados Campos, en time.Time) Evento {
	data.CamposCompletados = completados.Nombres()
	ev := envolver(data, EventIDUpdated(data.clave(), data.Estado, completados), TipoActualizada(data.TipoDeComprobante))
	ev.Time = en.UTC()
	return ev
}

func (d ComprobanteEvento) clave() Clave {
	return Clave{TipoDeComprobante: d.TipoDeComprobante, Serie: d.Serie, Numero: d.Numero}
}

func envolver(data ComprobanteEvento, id, tipo string) Evento {
	c := data.clave()
	data.Version = VersionEvento
	data.EstadoFinalEn = data.EstadoFinalEn.UTC()
	return Evento{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          FuenteReconciler,
		Type:            tipo,
		Subject:         c.String(),
		Time:            data.EstadoFinalEn.UTC(),
		DataContentType: "application/json",
		DataSchema:      EsquemaEventoV1,
		Data:            data,
	}
}
