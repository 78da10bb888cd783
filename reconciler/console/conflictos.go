package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// paginaConflictos is what conflictos.html shows.
type paginaConflictos struct {
	pagina
	Conflictos []conflicto
	Siguiente  string // the link to the next page, if there is one
}

// conflicto is a conflict with what arrived: the hash and the CDR of its payload.
type conflicto struct {
	estado.ConflictoAuditado
	HashRecibido, CDRRecibido string
}

// handleConflictos lists the audit's conflicts, those not reviewed first, 25 a page.
func handleConflictos(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var despues estado.CursorConflicto
		var errMsg string
		if s := r.URL.Query().Get("despues"); s != "" {
			rev, id, ok := strings.Cut(s, "_")
			n, err := strconv.ParseInt(id, 10, 64)
			if !ok || err != nil || n < 1 || (rev != "0" && rev != "1") {
				errMsg = "página inválida: se muestra la primera"
			} else {
				despues = estado.CursorConflicto{Revisado: rev == "1", ID: n}
			}
		}
		cs, err := store.Conflictos(r.Context(), despues, conPayloadsPorPagina)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		var siguiente string
		if len(cs) == conPayloadsPorPagina {
			last := cs[len(cs)-1].Cursor()
			rev := "0"
			if last.Revisado {
				rev = "1"
			}
			siguiente = "/conflictos?despues=" + rev + "_" + strconv.FormatInt(last.ID, 10)
		}
		out := make([]conflicto, len(cs))
		for i, x := range cs {
			out[i] = conflicto{ConflictoAuditado: x}
			var n contracts.Notificacion
			if json.Unmarshal([]byte(x.Payload), &n) == nil {
				out[i].HashRecibido, out[i].CDRRecibido = deref(n.CodigoHash), deref(n.EnlaceDelCDR)
			}
			out[i].Payload = "" // shown only through the hash and the CDR
		}
		v.render(w, r, "conflictos", paginaConflictos{pagina: pagina{Titulo: "Conflictos", Error: errMsg}, Conflictos: out, Siguiente: siguiente})
	})
}

// handleMarcarRevisado records that an operator checked a conflict, with a note of what was
// checked (postgres.Store.MarcarRevisado records the action too).
func handleMarcarRevisado(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		nota := strings.TrimSpace(r.FormValue("nota"))
		switch {
		case err != nil:
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such notification"})
			return
		case nota == "":
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "escriba una nota: qué se verificó"})
			return
		}
		err = store.MarcarRevisado(r.Context(), id, usuario(r), nota)
		if errors.Is(err, estado.ErrNoEsConflicto) {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: err.Error()})
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.log.Info("console: conflict marked reviewed", "user", usuario(r), "notificacion", id)
		http.Redirect(w, r, "/conflictos#c"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	})
}
