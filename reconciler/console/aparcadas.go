package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// Parked notifications (/esperando): notifications waiting for their comprobante.

// paginaAparcadas is what aparcadas.html shows.
type paginaAparcadas struct {
	pagina
	Aparcadas []vistaAparcada
	Siguiente string // the link to the next page, if there is one
}

// vistaAparcada is a row of /esperando, flat and formatted here: html/template looks up a field
// promoted from an embedded struct, and calls a function, by reflection that allocates each time,
// and a page has 100 rows.
type vistaAparcada struct {
	MessageID, Clave, Origen, Recibida, Espera, Reenviada string
	Veces                                                 int
}

// handleAparcadas lists the parked notifications, those waiting longest first, 100 a page.
func handleAparcadas(v *views, store Store, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := estado.PaginaAparcadas{Todas: true, Limit: porPagina}
		// A cursor that does not parse shows the first page.
		p.Despues, _ = estado.ParseCursorAparcada(r.URL.Query().Get("despues"))
		list, err := store.Aparcadas(r.Context(), p)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		ahora := now()
		vistas := make([]vistaAparcada, len(list))
		for i, a := range list {
			vistas[i] = vistaAparcada{MessageID: a.MessageID, Clave: a.Clave().String(), Origen: a.Origen, Recibida: lima(a.RecibidoEn),
				Espera: ahora.Sub(a.AparcadaEn).Round(time.Minute).String(), Reenviada: lima(a.ReenviadaEn), Veces: a.Veces}
		}
		var siguiente string
		if len(list) == porPagina {
			siguiente = "/esperando?" + url.Values{"despues": {list[len(list)-1].Cursor().String()}}.Encode()
		}
		v.render(w, r, "aparcadas", paginaAparcadas{pagina: pagina{Titulo: "Esperando", Error: aviso(r)}, Aparcadas: vistas, Siguiente: siguiente})
	})
}

// handleReenviar publishes a parked notification again; reenviar is nil when this reconciler
// cannot (the attempt is recorded and said so).
func handleReenviar(v *views, store Store, reenviar func(context.Context, string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := buscarAparcada(w, r, v, store, r.PathValue("id"))
		if !ok {
			return
		}
		clave := a.Clave()
		accion := estado.Accion{Usuario: usuario(r), Accion: "reenviar", Objeto: a.MessageID, Clave: &clave, Resultado: "ok"}
		var codigo string
		if reenviar == nil {
			accion.Resultado, codigo = "no disponible", avisoReenvioNoDisponible
		} else if err := reenviar(r.Context(), a.MessageID); err != nil {
			accion.Resultado, codigo = "error: "+err.Error(), avisoReenvioFallido
		}
		v.registrar(w, r, store, accion, "/esperando", codigo)
	})
}

// handleDescartar discards a parked notification, for the reason given (kept in the audit).
func handleDescartar(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		motivo := strings.TrimSpace(r.FormValue("motivo"))
		if motivo == "" {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "escriba el motivo del descarte"})
			return
		}
		a, ok := buscarAparcada(w, r, v, store, r.PathValue("id"))
		if !ok {
			return
		}
		clave := a.Clave()
		accion := estado.Accion{Usuario: usuario(r), Accion: "descartar", Objeto: a.MessageID, Clave: &clave, Detalle: motivo, Resultado: "ok"}
		done, err := store.Descartar(r.Context(), []string{a.MessageID}, "descartada por "+usuario(r)+" en la consola: "+motivo)
		var codigo string
		switch {
		case err != nil:
			accion.Resultado, codigo = "error: "+err.Error(), avisoDescarteFallido
		case len(done) == 0:
			accion.Resultado, codigo = "ya no estaba aparcada", avisoYaNoAparcada
		}
		v.registrar(w, r, store, accion, "/esperando", codigo)
	})
}

// buscarAparcada finds the parked notification id, answering 404 when it is not parked.
func buscarAparcada(w http.ResponseWriter, r *http.Request, v *views, store Store, id string) (estado.Aparcada, bool) {
	list, err := store.AparcadasPorID(r.Context(), []string{id})
	if err != nil {
		v.fail(w, r, err)
		return estado.Aparcada{}, false
	}
	if len(list) == 1 {
		return list[0], true
	}
	httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such parked notification (applied or discarded meanwhile?)"})
	return estado.Aparcada{}, false
}
