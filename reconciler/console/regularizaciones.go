package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts/httpapi"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/csvcell"
)

// paginaRegularizaciones is what regularizaciones.html shows.
type paginaRegularizaciones struct {
	pagina
	Runs []estado.Regularizacion
}

// paginaRegularizacion is what regularizacion.html shows.
type paginaRegularizacion struct {
	pagina
	Run         estado.Regularizacion
	NoResueltas []estado.NoResuelta
}

// handleRegularizaciones lists the latest 200 regularizations.
func handleRegularizaciones(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs, err := store.Regularizaciones(r.Context(), 200)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.render(w, r, "regularizaciones", paginaRegularizaciones{pagina: pagina{Titulo: "Regularizaciones", Error: aviso(r)}, Runs: runs})
	})
}

// handleRegularizacion shows a regularization, its progress while it runs, and what it left
// unresolved.
func handleRegularizacion(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, nr, ok := leerRegularizacion(w, r, v, store)
		if !ok {
			return
		}
		v.render(w, r, "regularizacion", paginaRegularizacion{
			pagina: pagina{Titulo: "Regularización " + strconv.FormatInt(run.ID, 10), Error: aviso(r)}, Run: run, NoResueltas: nr})
	})
}

// handleNoResueltasCSV is the run's report, as `regularize --report` writes it.
func handleNoResueltasCSV(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		run, nr, ok := leerRegularizacion(w, r, v, store)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="regularizacion-%d-no-resueltas.csv"`, run.ID))
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"tipo_de_comprobante", "serie", "numero", "motivo", "detalle"})
		for _, n := range nr {
			_ = cw.Write([]string{strconv.Itoa(n.Clave.TipoDeComprobante), n.Clave.Serie, strconv.Itoa(n.Clave.Numero),
				csvcell.Safe(n.Motivo), csvcell.Safe(n.Detalle)})
		}
		cw.Flush()
	})
}

// leerRegularizacion reads the regularization of the path and what it left unresolved,
// answering 404 when there is none.
func leerRegularizacion(w http.ResponseWriter, r *http.Request, v *views, store Store) (estado.Regularizacion, []estado.NoResuelta, bool) {
	var run estado.Regularizacion
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	found := false
	if err == nil {
		if run, found, err = store.RegularizacionPorID(r.Context(), id); err != nil {
			v.fail(w, r, err)
			return run, nil, false
		}
	}
	if !found {
		httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such regularization"})
		return run, nil, false
	}
	nr, err := store.NoResueltas(r.Context(), run.ID)
	if err != nil {
		v.fail(w, r, err)
		return run, nil, false
	}
	return run, nr, true
}

// handleRegularizar starts a run for the filter of /pendientes and leads to its page.
// regularizar is nil when NubeFacT is not configured: the attempt is recorded and said so.
func handleRegularizar(v *views, store Store, umbrales estado.Umbrales, regularizar func(context.Context, estado.Filtro, string) (int64, error), now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f estado.Filtro
		if t := r.FormValue("tipo"); t != "" {
			n, ok := parseTipo(t)
			if !ok {
				httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: "tipo desconocido: " + t})
				return
			}
			f.Tipo = n
		}
		f.Serie = strings.ToUpper(strings.TrimSpace(r.FormValue("serie")))
		if p := r.FormValue("plazo"); p != "" {
			_, hasta, err := rango(umbrales, estado.Plazo(p), estado.DiaEnLima(now()))
			if err != nil {
				httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusBadRequest, Detail: err.Error()})
				return
			}
			// That band or a more urgent one: issued on hasta or before.
			f.EmitidosAntesDe = estado.Dia{Time: hasta.AddDate(0, 0, 1)}.Inicio()
		}
		accion := estado.Accion{Usuario: usuario(r), Accion: "regularizar", Objeto: f.Descripcion(), Resultado: "ok"}
		if regularizar == nil {
			accion.Resultado = "no disponible: configure NUBEFACT_RUTA y NUBEFACT_TOKEN en el reconciliador"
			v.registrar(w, r, store, accion, "/regularizaciones", avisoRegularizarNoDisponible)
			return
		}
		id, err := regularizar(r.Context(), f, usuario(r))
		if err != nil {
			accion.Resultado = "error: " + err.Error()
			v.registrar(w, r, store, accion, "/regularizaciones", avisoRegularizarFallida)
			return
		}
		accion.Detalle = "regularización " + strconv.FormatInt(id, 10)
		v.registrar(w, r, store, accion, "/regularizaciones/"+strconv.FormatInt(id, 10), "")
	})
}

// handleDetener asks a running regularization to stop (Detener): the request goes through its
// row, since the run may be on another reconciler, which ends it as interrumpida within a
// second. A run whose reconciler died holds no lock any more: it is closed here and now.
func handleDetener(v *views, store Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			httpapi.WriteProblem(w, httpapi.Problem{Status: http.StatusNotFound, Detail: "no such regularization"})
			return
		}
		volver := "/regularizaciones/" + strconv.FormatInt(id, 10)
		accion := estado.Accion{Usuario: usuario(r), Accion: "detener", Objeto: "regularización " + strconv.FormatInt(id, 10), Resultado: "ok"}
		pedida, err := store.PedirDetencion(r.Context(), id, usuario(r))
		codigo := ""
		switch {
		case err != nil:
			accion.Resultado, codigo = "error: "+err.Error(), avisoDetenerFallida
		case !pedida:
			accion.Resultado, codigo = "no estaba en curso (ya terminó, o ya se pidió detenerla)", avisoNoEnCurso
		default:
			if _, err := store.UnaRegularizacionALaVez(r.Context(), func(context.Context) error { return nil }); err != nil {
				v.log.Warn("console: closing abandoned regularizations", "err", err)
			}
		}
		v.registrar(w, r, store, accion, volver, codigo)
	})
}
