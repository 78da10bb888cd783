package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hotelpe/boletas/reconciler/estado"
)

// deadLettersPage is what deadletters.html shows.
type deadLettersPage struct {
	pagina
	DeadLetters []deadLetterView
	Limite      int    // the page's size
	Siguiente   string // the link to the older page, if there is one
}

// deadLetterView is a dead letter with its payload as the page shows it: pretty-printed, or cut.
type deadLetterView struct {
	estado.DeadLetter
	Payload string
}

// handleDeadLetters lists the dead letters, the newest first, 25 a page; read is nil when there
// is no dead-letter stream to read (the page shows none).
func handleDeadLetters(v *views, read func(ctx context.Context, before uint64, limit int) ([]estado.DeadLetter, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dls []estado.DeadLetter
		var errMsg string
		var antes uint64
		if s := r.URL.Query().Get("antes"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil || n < 2 {
				errMsg = "página inválida: se muestran las más recientes"
			} else {
				antes = n
			}
		}
		if read != nil {
			var err error
			if dls, err = read(r.Context(), antes, conPayloadsPorPagina); err != nil {
				errMsg = "no se pudo leer la cola de errores: " + err.Error()
			}
		}
		shown := make([]deadLetterView, len(dls))
		for i, d := range dls {
			payload := d.Payload
			if len(payload) > estado.MaxPayloadMostrado {
				shown[i].Payload = recortar(string(payload), estado.MaxPayloadMostrado) + fmt.Sprintf("\n… (%d bytes en total: el stream lo guarda entero)", len(payload))
			} else {
				shown[i].Payload = bonito(string(payload))
			}
			d.Payload = nil
			shown[i].DeadLetter = d
		}
		var siguiente string
		if len(dls) == conPayloadsPorPagina && dls[len(dls)-1].Seq > 1 {
			siguiente = "/dlq?antes=" + strconv.FormatUint(dls[len(dls)-1].Seq, 10)
		}
		v.render(w, r, "deadletters", deadLettersPage{pagina: pagina{Titulo: "DLQ", Error: errMsg}, DeadLetters: shown,
			Limite: conPayloadsPorPagina, Siguiente: siguiente})
	})
}
