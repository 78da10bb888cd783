package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// paginaResumen is what resumen.html shows.
type paginaResumen struct {
	pagina
	Ahora      time.Time
	Plazos     []estado.Plazo
	PorTipo    []vistaPlazo // the pending comprobantes by tipo and band
	Grafico    template.HTML
	Conteos    []estado.ConteoEstado
	Recientes  []estado.ConteoReciente
	Foto       estado.Foto
	Health     Health
	Programada time.Duration // REGULARIZE_EVERY, 0 when off
	Proxima    time.Time     // when the next scheduled regularization is due, zero if unknown
	Acciones   []estado.Accion
}

// vistaPlazo is a tipo's pending comprobantes, a count for each of estado.Plazos.
type vistaPlazo struct {
	Tipo    string
	Valores []int64
}

// handleResumen is the summary: the pending comprobantes by band, the counts, the pipeline's
// health, the regularizations and the latest actions.
func handleResumen(v *views, store Store, umbrales estado.Umbrales, health func(context.Context) Health, programada time.Duration, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foto, err := store.Fotografiar(r.Context())
		if err != nil {
			v.fail(w, r, err)
			return
		}
		acciones, err := store.Acciones(r.Context(), 10)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		ahora := now()
		recientes, err := store.ConteosRecientes(r.Context(), estado.DiaEnLima(ahora))
		if err != nil {
			v.fail(w, r, err)
			return
		}
		pendientes := umbrales.Contar(foto.PendientesPorDia, ahora)
		var vistas []vistaPlazo
		for _, tipo := range contracts.Tipos {
			f := vistaPlazo{Tipo: nombresTipo[tipo]}
			for _, p := range estado.Plazos {
				f.Valores = append(f.Valores, pendientes.PorTipo[tipo][p])
			}
			vistas = append(vistas, f)
		}
		s := Health{Postgres: true, NATS: true, Cola: "?", DeadLetters: "?"}
		if health != nil {
			s = health(r.Context())
		}
		var proxima time.Time
		if programada > 0 {
			if ultima, err := store.UltimaRegularizacion(r.Context(), estado.RegularizacionProgramada); err == nil && !ultima.IsZero() {
				proxima = ultima.Add(programada)
			}
		}
		v.render(w, r, "resumen", paginaResumen{pagina: pagina{Titulo: "Resumen"}, Ahora: ahora, Plazos: estado.Plazos,
			PorTipo: vistas, Grafico: grafico(pendientes.Total), Conteos: foto.Comprobantes, Recientes: recientes,
			Foto: foto, Health: s, Programada: programada, Proxima: proxima, Acciones: acciones})
	})
}

// grafico draws the pending comprobantes by band as an inline SVG bar chart.
func grafico(total map[estado.Plazo]int64) template.HTML {
	colores := map[estado.Plazo]string{estado.EnPlazo: "#1f7a3a", estado.Atencion: "#d4a017", estado.Critico: "#c2410c", estado.Vencido: "#b91c1c"}
	var maximo int64 = 1
	for _, n := range total {
		maximo = max(maximo, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="Pendientes por plazo" width="100%%" viewBox="0 0 420 %d" style="max-width:42rem;background:#fff">`, 30*len(estado.Plazos)+10)
	for i, p := range estado.Plazos {
		y := 10 + 30*i
		ancho := int(300 * total[p] / maximo)
		fmt.Fprintf(&b, `<text x="5" y="%d" font-size="13">%s</text><rect x="80" y="%d" width="%d" height="18" fill="%s"/><text x="%d" y="%d" font-size="13">%d</text>`,
			y+14, p, y, ancho, colores[p], 85+ancho, y+14, total[p])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from band names and numbers only
}
