package contracts

import (
	"encoding/json"
	"time"
)

// Mensaje is a notification as it travels on SubjectNotificaciones: its body, its Nats-Msg-Id,
// its headers and the stream expected to store it. Every publisher (ingest's webhook,
// regularization, replay) builds it with Topologia.Mensaje and publishes it with its own NATS
// adapter, so the message is the same whoever sends it.
type Mensaje struct {
	Subject   string
	Stream    string
	MsgID     string
	Payload   []byte
	Cabeceras map[string][]string // as nats.Header
}

// Mensaje builds the message of a notification: the payload byte for byte, the ID that names it
// (MessageID, or a variant of it for a replay), its origin (OrigenWebhook...), when it was
// received and from whom (may be empty).
func (t Topologia) Mensaje(payload []byte, msgID, origen string, recibido time.Time, remitente string) Mensaje {
	h := map[string][]string{
		HeaderOrigen:   {origen},
		HeaderRecibido: {recibido.UTC().Format(time.RFC3339Nano)},
	}
	if remitente != "" {
		h[HeaderRemitente] = []string{remitente}
	}
	return Mensaje{Subject: t.SubjectNotificaciones(), Stream: t.StreamNotificaciones(), MsgID: msgID, Payload: payload, Cabeceras: h}
}

// RemitenteNubefact is the sender recorded for NubeFacT's own answers (Operation 2).
const RemitenteNubefact = "nubefact:consultar_comprobante"

// RespuestaNubefact turns NubeFacT's answer to Operation 2 into a notification to apply: the
// zipped documents (*_zip_base64, megabytes, never stored) removed, and its body.
func RespuestaNubefact(n Notificacion) (Notificacion, []byte, error) {
	n.PDFZipBase64, n.XMLZipBase64, n.CDRZipBase64 = nil, nil, nil
	body, err := json.Marshal(n)
	return n, body, err
}
