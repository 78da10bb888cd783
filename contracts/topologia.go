package contracts

import "strings"

// Topologia names the NATS subjects and JetStream streams of the pipeline. The zero value gives
// the production names; a Prefijo ("t42") namespaces all of them ("t42.boleta.aceptada",
// stream "T42_COMPROBANTES_EVENTOS") so that tests and environments can share one server.
type Topologia struct {
	Prefijo string
}

func (t Topologia) subject(s string) string {
	if t.Prefijo == "" {
		return s
	}
	return t.Prefijo + "." + s
}

func (t Topologia) stream(s string) string {
	if t.Prefijo == "" {
		return s
	}
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(t.Prefijo)) + "_" + s
}

// The notifications have one subject per origin, so that the origin is what NATS's permissions
// enforce (who may publish where), never a header anyone can write: ingest may publish only
// webhooks, the ops CLI only regularizations and replays. The reconciler derives the origin of
// what it consumes from the subject (OrigenDe).
const notificaciones = "nubefact.notificaciones"

// SubjectNotificacion is where notifications of origen are published: webhooks (ingest) on
// "nubefact.notificaciones.webhook", NubeFacT's answers obtained by regularization on
// "nubefact.notificaciones.regularizacion".
func (t Topologia) SubjectNotificacion(origen string) string {
	return t.subject(notificaciones + "." + origen)
}

// SubjectReenvio is where a replay of a notification of origen is published:
// "nubefact.notificaciones.replay.webhook". A replay keeps its origin: a replayed webhook is
// still a webhook, confirmed with NubeFacT like any other (VERIFY_WEBHOOKS).
func (t Topologia) SubjectReenvio(origen string) string {
	return t.subject(notificaciones + "." + OrigenReenvio + "." + origen)
}

// SubjectsNotificaciones are the subjects of StreamNotificaciones: every origin's, and the single
// subject every origin shared before (messages stored there before an upgrade, and those of a
// publisher not upgraded yet, are of unknown origin).
func (t Topologia) SubjectsNotificaciones() []string {
	return []string{t.subject(notificaciones), t.subject(notificaciones + ".>")}
}

// OrigenDe is the origin of a notification consumed on subject, and whether it is a replay. A
// subject that names no known origin gives OrigenDesconocido.
func (t Topologia) OrigenDe(subject string) (origen string, reenvio bool) {
	rest, ok := strings.CutPrefix(subject, t.subject(notificaciones)+".")
	if !ok {
		return OrigenDesconocido, false
	}
	rest, reenvio = strings.CutPrefix(rest, OrigenReenvio+".")
	switch rest {
	case OrigenWebhook, OrigenRegularizacion:
		return rest, reenvio
	case OrigenVerificacion:
		// NubeFacT's answers are applied where they are obtained, never published: only a replay
		// of one that was parked travels.
		if reenvio {
			return rest, true
		}
	}
	return OrigenDesconocido, reenvio
}

// StreamNotificaciones stores SubjectsNotificaciones.
func (t Topologia) StreamNotificaciones() string { return t.stream("NUBEFACT_NOTIFICACIONES") }

// SubjectDeadLetters receives copies of the messages the reconciler could not decode, with the reason.
func (t Topologia) SubjectDeadLetters() string { return t.subject("nubefact.dlq") }

// StreamDeadLetters stores SubjectDeadLetters.
func (t Topologia) StreamDeadLetters() string { return t.stream("NUBEFACT_DLQ") }

// StreamEventos stores every event the reconciler publishes (SubjectsEventos).
func (t Topologia) StreamEventos() string { return t.stream("COMPROBANTES_EVENTOS") }

// SubjectsEventos are the subjects of StreamEventos, one wildcard per tipo de comprobante.
func (t Topologia) SubjectsEventos() []string {
	out := make([]string, 0, len(Tipos))
	for _, tipo := range Tipos {
		out = append(out, t.subject(tipo.String()+".>"))
	}
	return out
}

// SubjectEvento is the subject of the event for a comprobante of this tipo entering estado:
// "boleta.aceptada", "factura.rechazada", "nota_de_credito.anulada"...
func (t Topologia) SubjectEvento(tipo int, estado Resultado) string {
	return t.subject(TipoEvento(tipo, estado))
}

// TipoDeSubject is the CloudEvents type of the event published on subject: the subject without
// the namespace.
func (t Topologia) TipoDeSubject(subject string) string {
	if t.Prefijo == "" {
		return subject
	}
	return strings.TrimPrefix(subject, t.Prefijo+".")
}

// SubjectDe is the subject an event is published on: its type, namespaced.
func (t Topologia) SubjectDe(ev Evento) string { return t.subject(ev.Type) }

// TipoActualizada is the CloudEvents type of the event published when a notification fills in
// documents of a comprobante whose estado stays the same: "boleta.actualizada".
func TipoActualizada(tipo int) string { return Tipo(tipo).String() + ".actualizada" }

// TipoEvento is the CloudEvents type of that event; it equals its subject without a prefix.
func TipoEvento(tipo int, estado Resultado) string {
	return Tipo(tipo).String() + "." + participio[estado]
}

// Every comprobante is feminine in Spanish: boleta aceptada, nota de crédito anulada.
var participio = map[Resultado]string{Aceptado: "aceptada", Rechazado: "rechazada", Anulado: "anulada"}
