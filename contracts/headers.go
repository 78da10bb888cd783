package contracts

// Headers of the messages on SubjectNotificaciones. Nats-Msg-Id (jetstream.MsgIDHeader) carries
// MessageID; these say where the notification came from, for the audit.
const (
	// HeaderOrigen is one of the origins below (Origenes).
	HeaderOrigen = "Nubefact-Origen"
	// HeaderRecibido is when we received it, RFC 3339 with nanoseconds, UTC.
	HeaderRecibido = "Nubefact-Recibido"
	// HeaderRemitente is the sender's address as ingest saw it (host:port).
	HeaderRemitente = "Nubefact-Remitente"
	// HeaderMotivo, on SubjectDLQ, says why the message was dead-lettered.
	HeaderMotivo = "Nubefact-Motivo"
)

// Origins of a notification.
const (
	OrigenWebhook        = "webhook"
	OrigenRegularizacion = "regularizacion"
	OrigenReplay         = "replay"
	// OrigenVerificacion is NubeFacT's own answer, obtained to confirm a webhook
	// (VERIFY_WEBHOOKS) and applied in its place.
	OrigenVerificacion = "verificacion"
)

// Origenes lists every origin.
var Origenes = []string{OrigenWebhook, OrigenRegularizacion, OrigenReplay, OrigenVerificacion}
