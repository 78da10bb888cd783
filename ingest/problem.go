package ingest

// Our problem types are URNs in the project's namespace, like the events' source and
// dataschema: identifiers, not addresses. docs/webhook.md lists them. The problem documents
// themselves are httpapi.Problem.
const (
	// typeNotificacionInvalida is a body that is not a valid NubeFacT notification (400).
	typeNotificacionInvalida = "urn:hotelpe:boletas:problem:notificacion-invalida"
	// typeClavesDesconocidas is a notification whose unknown keys exceed their budget (413).
	typeClavesDesconocidas = "urn:hotelpe:boletas:problem:claves-desconocidas"
)
