package ingest

// Our problem types are URNs in the project's namespace, like the events' source and
// dataschema: identifiers, not addresses. docs/webhook.md lists them. The problem documents
// themselves are httpapi.Problem.
const (
	// problemaNotificacionInvalida is a body that is not a valid NubeFacT notification (400).
	problemaNotificacionInvalida = "urn:hotelpe:boletas:problem:notificacion-invalida"
	// problemaClavesDesconocidas is a notification whose unknown keys exceed their budget (413).
	problemaClavesDesconocidas = "urn:hotelpe:boletas:problem:claves-desconocidas"
)
