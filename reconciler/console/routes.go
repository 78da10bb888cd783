package console

import (
	"net/http"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

// routes is the whole surface of the console, behind its login and, outermost, the cross-origin
// protection: a cross-site POST is refused (403) before anything else, credentials or not.
// Anything else is a 404 or 405 problem, never a redirect (see httpapi.StrictMux).
func routes(o Options, v *views, l *login) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", handleResumen(v, o.Store, o.Umbrales, o.Health, o.Programada, o.Now))
	mux.Handle("GET /pendientes", handlePendientes(v, o.Store, o.Umbrales, o.Now))
	mux.Handle("GET /buscar", handleBuscar(v))
	mux.Handle("GET /comprobantes/{clave}", handleComprobante(v, o.Store, o.Umbrales, o.Now))
	mux.Handle("GET /conflictos", handleConflictos(v, o.Store))
	mux.Handle("POST /conflictos/{id}/revisado", handleMarcarRevisado(v, o.Store))
	mux.Handle("GET /esperando", handleAparcadas(v, o.Store, o.Now))
	mux.Handle("POST /esperando/{id}/reenviar", handleReenviar(v, o.Store, o.Reenviar))
	mux.Handle("POST /esperando/{id}/descartar", handleDescartar(v, o.Store))
	mux.Handle("GET /regularizaciones", handleRegularizaciones(v, o.Store))
	mux.Handle("GET /regularizaciones/{id}", handleRegularizacion(v, o.Store))
	mux.Handle("GET /regularizaciones/{id}/no-resueltas.csv", handleNoResueltasCSV(v, o.Store))
	mux.Handle("POST /regularizar", handleRegularizar(v, o.Store, o.Umbrales, o.Regularizar, o.Now))
	mux.Handle("POST /regularizaciones/{id}/detener", handleDetener(v, o.Store))
	mux.Handle("GET /dlq", handleDeadLetters(v, o.DeadLetters))
	return http.NewCrossOriginProtection().Handler(l.autenticar(httpapi.StrictMux(mux)))
}
