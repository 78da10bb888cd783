package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// paginaPendientes is what pendientes.html shows.
type paginaPendientes struct {
	pagina
	Filtro     struct{ Tipo, Serie, Plazo string } // as the form shows it
	Tipos      []opcionTipo
	Plazos     []estado.Plazo
	Pendientes []vistaPendiente
	Siguiente  string // the link to the next page, if there is one
}

// opcionTipo is a choice of the form's tipo: its number and its name.
type opcionTipo struct{ Valor, Nombre string }

type vistaPendiente struct {
	Clave     string
	Dia       string
	Dias      int
	Plazo     estado.Plazo
	Restantes int
}

// handlePendientes lists the pending comprobantes, the oldest first, 100 a page, by tipo, serie
// and band.
func handlePendientes(v *views, store Store, umbrales estado.Umbrales, now func() time.Time) http.Handler {
	tipos := make([]opcionTipo, len(contracts.Tipos))
	for i, t := range contracts.Tipos {
		tipos[i] = opcionTipo{Valor: strconv.Itoa(int(t)), Nombre: nombresTipo[t]}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ahora := now()
		var f estado.FiltroPendientes
		var errMsg string
		if t := q.Get("tipo"); t != "" {
			if n, ok := parseTipo(t); !ok {
				errMsg = "tipo desconocido: elija 1 factura, 2 boleta, 3 nota de crédito o 4 nota de débito"
			} else {
				f.Tipo = n
			}
		}
		f.Serie = strings.ToUpper(strings.TrimSpace(q.Get("serie")))
		plazo := q.Get("plazo")
		if plazo != "" {
			desde, hasta, err := rango(umbrales, estado.Plazo(plazo), estado.DiaEnLima(ahora))
			if err != nil { // said in fixed words: the page never repeats the URL's
				errMsg, plazo = "plazo desconocido: elija en_plazo, atencion, critico o vencido", ""
			} else {
				f.Desde, f.Hasta = desde, hasta
			}
		}
		var despues estado.Cursor
		if d := q.Get("despues"); d != "" {
			dia, id, ok := strings.Cut(d, "_")
			t, err := time.Parse(time.DateOnly, dia)
			n, err2 := strconv.ParseInt(id, 10, 64)
			if !ok || err != nil || err2 != nil {
				errMsg = "página inválida: se muestra la primera"
			} else {
				despues = estado.Cursor{Dia: estado.DiaDeFecha(t), ID: n}
			}
		}
		ps, err := store.PendientesPorDia(r.Context(), f, despues, porPagina)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		vistas := make([]vistaPendiente, len(ps))
		for i, p := range ps {
			dias := estado.DiasDesde(p.Dia, ahora)
			vistas[i] = vistaPendiente{Clave: p.Clave.String(), Dia: p.Dia.Format(time.DateOnly), Dias: dias,
				Plazo: umbrales.Banda(dias), Restantes: umbrales.Plazo - dias}
		}
		data := paginaPendientes{pagina: pagina{Titulo: "Pendientes", Error: errMsg}, Tipos: tipos, Plazos: estado.Plazos, Pendientes: vistas}
		data.Filtro.Serie, data.Filtro.Plazo = f.Serie, plazo
		if f.Tipo != 0 {
			data.Filtro.Tipo = strconv.Itoa(f.Tipo)
		}
		if len(ps) == porPagina {
			last := ps[len(ps)-1]
			next := url.Values{}
			for _, k := range []string{"tipo", "serie", "plazo"} {
				if q.Get(k) != "" {
					next.Set(k, q.Get(k))
				}
			}
			next.Set("despues", last.Dia.Format(time.DateOnly)+"_"+strconv.FormatInt(last.ID, 10))
			data.Siguiente = "/pendientes?" + next.Encode()
		}
		v.render(w, r, "pendientes", data)
	})
}

// parseTipo reads a tipo_de_comprobante of the form: one of the four.
func parseTipo(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && contracts.Tipo(n).Valid()
}

// rango is the days of issue of band p, as of today.
func rango(u estado.Umbrales, p estado.Plazo, hoy estado.Dia) (desde, hasta estado.Dia, err error) {
	min, err := u.DiasMinimos(p)
	if err != nil {
		return desde, hasta, err
	}
	hasta = hoy.Antes(min)
	i := 0
	for i < len(estado.Plazos) && estado.Plazos[i] != p {
		i++
	}
	if i+1 < len(estado.Plazos) {
		next, _ := u.DiasMinimos(estado.Plazos[i+1])
		desde = hoy.Antes(next - 1)
	}
	return desde, hasta, nil
}
