package contracts

// Headers of the messages on the notifications subjects. Nats-Msg-Id (jetstream.MsgIDHeader)
// carries MessageID; these say when and from whom the notification came, for the audit. The
// origin is the subject's (Topologia.OrigenDe): a header would be believed from anyone.
const (
	// CabeceraRecibido is when we received it, RFC 3339 with nanoseconds, UTC.
	CabeceraRecibido = "Nubefact-Recibido"
	// CabeceraRemitente is the sender's address as ingest saw it (host:port).
	CabeceraRemitente = "Nubefact-Remitente"
)

// Headers the reconciler adds to a dead letter's copy on SubjectDeadLetters.
const (
	// CabeceraMotivo says why the message was dead-lettered.
	CabeceraMotivo = "Nubefact-Motivo"
	// CabeceraOrigen is the origin the reconciler derived from the subject it consumed.
	CabeceraOrigen = "Nubefact-Origen"
)

// Origins of a notification.
const (
	OrigenWebhook        = "webhook"
	OrigenRegularizacion = "regularizacion"
	OrigenReenvio        = "replay"
	// OrigenVerificacion is NubeFacT's own answer, obtained to confirm a webhook
	// (VERIFY_WEBHOOKS) and applied in its place.
	OrigenVerificacion = "verificacion"
	// OrigenDesconocido is a message on a subject that names no origin: published before the
	// upgrade that gave each origin its subject, or by a publisher nobody allowed.
	OrigenDesconocido = "desconocido"
)

// Origenes lists every origin a notification is recorded with.
var Origenes = []string{OrigenWebhook, OrigenRegularizacion, OrigenVerificacion, OrigenDesconocido}

// Probado reports whether a notification of origen is NubeFacT's own answer to our call to its
// API (regularization, verification), so that it needs no confirmation. Anything else (a webhook,
// a replay of one, an unknown origin) can be forged by whoever holds a webhook token or reaches
// NATS, and is confirmed with NubeFacT first when VERIFY_WEBHOOKS is on.
func Probado(origen string) bool {
	return origen == OrigenRegularizacion || origen == OrigenVerificacion
}
