package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// A comprobante and its timeline

// paginaComprobante is what comprobante.html shows.
type paginaComprobante struct {
	pagina
	Clave       string
	Comprobante *estado.Comprobante
	Historia    []evento
	Siguiente   string // the link to the older page, if there is one
	Dia         string
	Dias        int
	Plazo       estado.Plazo
}

// evento is one line of the timeline.
type evento struct {
	Cuando  time.Time
	Que     string
	Detalle string
	Payload string
}

// handleBuscar leads the search box's key to its comprobante's page.
func handleBuscar(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clave, err := parseClave(strings.TrimSpace(r.URL.Query().Get("q")))
		if err != nil {
			v.render(w, r, "comprobante", paginaComprobante{pagina: pagina{Titulo: "Buscar", Error: err.Error()}, Clave: "Buscar"})
			return
		}
		http.Redirect(w, r, "/comprobantes/"+clave.String(), http.StatusSeeOther)
	})
}

// parseClave reads "2-BBB1-105". A key outside SUNAT's ranges (contracts.Clave.Validate) is an
// error: it names no comprobante, and a numero past Postgres's integer would fail the query.
func parseClave(s string) (contracts.Clave, error) {
	errFormato := errors.New("escriba tipo-serie-número, por ejemplo 2-BBB1-105")
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return contracts.Clave{}, errFormato
	}
	tipo, err1 := strconv.Atoi(parts[0])
	numero, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil {
		return contracts.Clave{}, errFormato
	}
	clave := contracts.Clave{TipoDeComprobante: tipo, Serie: strings.ToUpper(parts[1]), Numero: numero}
	if clave.Validate() != nil {
		return contracts.Clave{}, errors.New("no es una clave de comprobante: tipo 1 a 4, serie de 4 letras o cifras (B… en boletas, F… en facturas, 0… de contingencia), número de 1 a 99999999")
	}
	return clave, nil
}

// handleComprobante shows a comprobante's row (when it is in the table) and its timeline: what
// arrived for it and what was done to it, the most recent first, 25 a page.
func handleComprobante(v *views, store Store, umbrales estado.Umbrales, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clave, err := parseClave(r.PathValue("clave"))
		if err != nil {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: err.Error()})
			return
		}
		row, found, err := store.Comprobante(r.Context(), clave)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		var antes estado.CursorHistoria
		var nextPath, errMsg string
		if s := r.URL.Query().Get("antes"); s != "" {
			if antes, err = parseCursorHistoria(s); err != nil {
				errMsg = "página inválida: se muestra la más reciente"
			}
		}
		auditadas, acciones, err := store.Historia(r.Context(), clave, antes, conPayloadsPorPagina)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		historia, siguiente := paginaHistoria(auditadas, acciones, antes, conPayloadsPorPagina)
		if siguiente != (estado.CursorHistoria{}) {
			nextPath = "/comprobantes/" + clave.String() + "?antes=" + strconv.FormatInt(siguiente.Auditada, 10) + "_" + strconv.FormatInt(siguiente.Accion, 10)
		}
		data := paginaComprobante{pagina: pagina{Titulo: clave.String(), Error: errMsg}, Clave: clave.String(), Historia: historia, Siguiente: nextPath}
		if found {
			data.Comprobante = &row
			data.Dia = row.Dia().Format(time.DateOnly)
			data.Dias = estado.DiasDesde(row.Dia(), now())
			data.Plazo = umbrales.Banda(data.Dias)
		}
		v.render(w, r, "comprobante", data)
	})
}

// paginaHistoria merges a page of the audit and one of the actions (each newest first) into the
// timeline's page: the newest limit of them, newest first, and the cursor of the next (older)
// page, zero when there is none. Each source gives a prefix of its rows, so the cursor (the last
// id shown of each) skips nothing.
func paginaHistoria(auditadas []estado.Auditada, acciones []estado.Accion, antes estado.CursorHistoria, limit int) ([]evento, estado.CursorHistoria) {
	var historia []evento
	siguiente := antes
	i, j := 0, 0
	for i+j < limit && (i < len(auditadas) || j < len(acciones)) {
		if j == len(acciones) || i < len(auditadas) && !auditadas[i].RecibidoEn.Before(acciones[j].RealizadaEn) {
			historia = append(historia, eventosDe(auditadas[i])...)
			siguiente.Auditada = auditadas[i].ID
			i++
			continue
		}
		a := acciones[j]
		historia = append(historia, evento{Cuando: a.RealizadaEn, Que: "acción: " + a.Accion + " por " + a.Usuario,
			Detalle: a.Detalle + " · " + a.Resultado})
		siguiente.Accion = a.ID
		j++
	}
	if i == len(auditadas) && j == len(acciones) && len(auditadas) < limit && len(acciones) < limit {
		return historia, estado.CursorHistoria{} // both sources are exhausted
	}
	return historia, siguiente
}

// eventosDe is what one audit row shows on the timeline, newest first.
func eventosDe(a estado.Auditada) []evento {
	que := "notificación (" + a.Origen + "): " + a.Efecto
	if a.EstadoNuevo != nil && a.EstadoAnterior != nil && *a.EstadoNuevo != *a.EstadoAnterior {
		que += ", " + *a.EstadoAnterior + " → " + *a.EstadoNuevo
	}
	detalle := a.Motivo
	if a.Remitente != nil {
		detalle += " · remitente " + *a.Remitente
	}
	payload := bonito(a.Payload)
	if a.Largo > len(a.Payload) {
		payload = a.Payload + fmt.Sprintf("\n… (%d bytes en total: la auditoría lo guarda entero)", a.Largo)
	}
	out := []evento{{Cuando: a.RecibidoEn, Que: que, Detalle: detalle + " · " + a.MessageID, Payload: payload}}
	if a.Efecto == string(estado.Aplicado) || a.Efecto == string(estado.Completado) {
		out = append([]evento{{Cuando: a.RegistradoEn, Que: "evento escrito para los suscriptores",
			Detalle: "publicado por el relay en cuanto NATS lo acepta"}}, out...)
	}
	return out
}

// parseCursorHistoria reads "auditada_accion", as the timeline's link writes it.
func parseCursorHistoria(s string) (estado.CursorHistoria, error) {
	a, b, ok := strings.Cut(s, "_")
	n, err1 := strconv.ParseInt(a, 10, 64)
	m, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 0 || m < 0 {
		return estado.CursorHistoria{}, fmt.Errorf("invalid cursor %q", s)
	}
	return estado.CursorHistoria{Auditada: n, Accion: m}, nil
}
