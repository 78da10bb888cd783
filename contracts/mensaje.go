package contracts

import (
	"encoding/json"
	"slices"
	"time"
)

// Mensaje is a notification as it travels on its subject (SubjectNotificacion): its body, its Nats-Msg-Id,
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

// Mensaje builds the message of a notification of origen (OrigenWebhook...) on its subject: the
// payload byte for byte, the ID that names it (MessageID), when it was received and from whom
// (may be empty).
func (t Topologia) Mensaje(payload []byte, msgID, origen string, recibido time.Time, remitente string) Mensaje {
	h := map[string][]string{CabeceraRecibido: {recibido.UTC().Format(time.RFC3339Nano)}}
	if remitente != "" {
		h[CabeceraRemitente] = []string{remitente}
	}
	return Mensaje{Subject: t.SubjectNotificacion(origen), Stream: t.StreamNotificaciones(), MsgID: msgID, Payload: payload, Cabeceras: h}
}

// Reenvio builds the message that replays a notification of origen (SubjectReenvio); msgID is
// a variant of its MessageID, so that JetStream's duplicate window does not swallow it.
func (t Topologia) Reenvio(payload []byte, msgID, origen string, recibido time.Time, remitente string) Mensaje {
	if !slices.Contains(Origenes, origen) {
		origen = OrigenDesconocido // recorded before origins had subjects: any header's text
	}
	m := t.Mensaje(payload, msgID, origen, recibido, remitente)
	m.Subject = t.SubjectReenvio(origen)
	return m
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
