package console

import (
	"net/http"
	"net/url"
)

// An action that did not succeed sends the browser back with ?aviso=CODE, and the page shows
// that code's fixed text: never words taken from the URL, or a link anyone can send would put
// any message inside the console's error box (content spoofing). An unknown code shows nothing.
// What exactly failed is in the record of actions (the summary lists the latest) and the log.
const (
	avisoRegularizarNoDisponible = "regularizar-no-disponible"
	avisoRegularizarFallida      = "regularizar-fallida"
	avisoReenvioNoDisponible     = "reenvio-no-disponible"
	avisoReenvioFallido          = "reenvio-fallido"
	avisoDescarteFallido         = "descarte-fallido"
	avisoYaNoAparcada            = "ya-no-aparcada"
	avisoDetenerFallida          = "detener-fallida"
	avisoNoEnCurso               = "no-en-curso"
)

var avisos = map[string]string{
	avisoRegularizarNoDisponible: "No se puede regularizar desde la consola: configure NUBEFACT_RUTA y NUBEFACT_TOKEN en el reconciliador.",
	avisoRegularizarFallida:      "La regularización no arrancó. El motivo está en las acciones recientes del Resumen y en el log del reconciliador.",
	avisoReenvioNoDisponible:     "El reenvío no está disponible en este reconciliador.",
	avisoReenvioFallido:          "El reenvío falló: la notificación sigue esperando. El motivo está en las acciones recientes del Resumen y en el log del reconciliador.",
	avisoDescarteFallido:         "El descarte falló: la notificación sigue esperando. El motivo está en las acciones recientes del Resumen y en el log del reconciliador.",
	avisoYaNoAparcada:            "La notificación ya no estaba esperando: se aplicó o se descartó mientras tanto.",
	avisoDetenerFallida:          "No se pudo pedir la detención. El motivo está en las acciones recientes del Resumen y en el log del reconciliador.",
	avisoNoEnCurso:               "La regularización ya no estaba en curso: terminó, o ya se pidió detenerla.",
}

// aviso is the text of r's ?aviso=, or "" when it names none of avisos.
func aviso(r *http.Request) string { return avisos[r.URL.Query().Get("aviso")] }

// conAviso is the address volver with ?aviso=codigo, or volver itself when codigo is "".
func conAviso(volver, codigo string) string {
	if codigo == "" {
		return volver
	}
	return volver + "?" + url.Values{"aviso": {codigo}}.Encode()
}
