// Package simulador is a fake NubeFacT for tests and demos. It serves Operation 2
// (consultar_comprobante) on a RUTA with token checking, answers from an in-memory set of
// comprobantes whose outcome the caller sets, can inject latency and every error codigo, and
// delivers webhooks to ingest the way NubeFacT would (retrying until it gets 200).
package simulador

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotelpe/boletas/contracts"
)

// Situacion is what NubeFacT knows of a comprobante.
type Situacion string

const (
	Aceptada  Situacion = "aceptada"
	Rechazada Situacion = "rechazada"
	Anulada   Situacion = "anulada"
	Pendiente Situacion = "pendiente" // still in the Resumen Diario: no final outcome
	NoExiste  Situacion = "no_existe" // codigo 24
)

func (r Situacion) valido() bool {
	switch r {
	case Aceptada, Rechazada, Anulada, Pendiente, NoExiste:
		return true
	}
	return false
}

// Simulador is one fake NubeFacT account. Its zero value is not usable: call New.
type Simulador struct {
	Ruta  string // path of the RUTA, e.g. "/api/v1/3f0b…"
	token string

	mu        sync.Mutex
	boletas   map[contracts.Clave]Situacion
	defecto   Situacion
	fallas    map[contracts.Clave][]int // codigos to answer next for that comprobante, in order
	fallaTodo int                       // codigo every call answers (0: none)
	latencia  time.Duration
	porClave  map[contracts.Clave]int // Operation 2 calls received about each comprobante

	llamadas atomic.Int64
}

// New returns a simulator for token, answering NoExiste for comprobantes it was not told about.
func New(token string) *Simulador {
	return &Simulador{
		Ruta: "/api/v1/00000000-0000-4000-8000-000000000001", token: token,
		boletas: map[contracts.Clave]Situacion{}, defecto: NoExiste, fallas: map[contracts.Clave][]int{},
		porClave: map[contracts.Clave]int{},
	}
}

// Poner sets what NubeFacT knows of clave.
func (s *Simulador) Poner(clave contracts.Clave, r Situacion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.boletas[clave] = r
}

// PorDefecto sets the answer for comprobantes not set with Poner (for load: every boleta
// aceptada without registering each one).
func (s *Simulador) PorDefecto(r Situacion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defecto = r
}

// Fallar makes the next calls about clave answer these codigos, one per call, in order.
func (s *Simulador) Fallar(clave contracts.Clave, codigos ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallas[clave] = append(s.fallas[clave], codigos...)
}

// FallarTodo makes every call answer codigo (0 restores normal answers).
func (s *Simulador) FallarTodo(codigo int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallaTodo = codigo
}

// Latencia delays every answer by d.
func (s *Simulador) Latencia(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencia = d
}

// Llamadas is how many Operation 2 calls were received.
func (s *Simulador) Llamadas() int64 { return s.llamadas.Load() }

// LlamadasDe is the number of well-formed Operation 2 calls received about clave.
func (s *Simulador) LlamadasDe(clave contracts.Clave) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.porClave[clave]
}

// Handler serves the RUTA and the control endpoints under /_sim/ (see docs/regularization.md).
func (s *Simulador) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+s.Ruta, s.operacion)
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		responderError(w, 11, "RUTA wrong or does not exist")
	})
	mux.HandleFunc("PUT /_sim/comprobantes/{tipo}/{serie}/{numero}", s.controlPoner)
	mux.HandleFunc("PUT /_sim/defecto/{resultado}", func(w http.ResponseWriter, r *http.Request) {
		res := Situacion(r.PathValue("resultado"))
		if !res.valido() {
			http.Error(w, "resultado must be one of aceptada, rechazada, anulada, pendiente, no_existe", http.StatusBadRequest)
			return
		}
		s.PorDefecto(res)
	})
	mux.HandleFunc("PUT /_sim/latencia/{d}", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.PathValue("d"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.Latencia(d)
	})
	mux.HandleFunc("PUT /_sim/falla/{codigo}", func(w http.ResponseWriter, r *http.Request) {
		c, err := strconv.Atoi(r.PathValue("codigo"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.FallarTodo(c)
	})
	mux.HandleFunc("GET /_sim/llamadas", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, s.Llamadas())
	})
	return mux
}

func (s *Simulador) controlPoner(w http.ResponseWriter, r *http.Request) {
	tipo, err1 := strconv.Atoi(r.PathValue("tipo"))
	numero, err2 := strconv.Atoi(r.PathValue("numero"))
	if err1 != nil || err2 != nil {
		http.Error(w, "tipo and numero must be integers", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
	res := Situacion(strings.TrimSpace(string(body)))
	if !res.valido() {
		http.Error(w, "resultado must be one of aceptada, rechazada, anulada, pendiente, no_existe", http.StatusBadRequest)
		return
	}
	s.Poner(contracts.Clave{TipoDeComprobante: tipo, Serie: r.PathValue("serie"), Numero: numero}, res)
}

// tokenValido accepts both forms NubeFacT documents (docs/regularization.md): `Token token="<TOKEN>"` and the bare token.
func (s *Simulador) tokenValido(h string) bool {
	if strings.HasPrefix(h, "Token ") {
		h = strings.TrimPrefix(h, "Token ")
		h = strings.TrimPrefix(h, "token=")
		h = strings.Trim(h, `"`)
	}
	return h == s.token
}

func (s *Simulador) operacion(w http.ResponseWriter, r *http.Request) {
	s.llamadas.Add(1)
	s.mu.Lock()
	latencia, fallaTodo := s.latencia, s.fallaTodo
	s.mu.Unlock()
	// The body is read before the wait: net/http notices a caller that went away (and cancels
	// r.Context()) only once the request's body is consumed.
	body, errBody := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if latencia > 0 {
		select {
		case <-time.After(latencia):
		case <-r.Context().Done():
			return
		}
	}
	if !s.tokenValido(r.Header.Get("Authorization")) {
		responderError(w, 10, "token wrong or deleted")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		responderError(w, 12, "missing or wrong Content-Type")
		return
	}
	if fallaTodo != 0 {
		responderError(w, fallaTodo, "injected")
		return
	}
	var q struct {
		Operacion         string `json:"operacion"`
		TipoDeComprobante int    `json:"tipo_de_comprobante"`
		Serie             string `json:"serie"`
		Numero            int    `json:"numero"`
	}
	if errBody != nil || json.Unmarshal(body, &q) != nil || q.Operacion != "consultar_comprobante" {
		responderError(w, 20, "body does not match the format")
		return
	}
	clave := contracts.Clave{TipoDeComprobante: q.TipoDeComprobante, Serie: q.Serie, Numero: q.Numero}
	s.mu.Lock()
	s.porClave[clave]++
	res, ok := s.boletas[clave]
	if !ok {
		res = s.defecto
	}
	var falla int
	if f := s.fallas[clave]; len(f) > 0 {
		falla, s.fallas[clave] = f[0], f[1:]
	}
	s.mu.Unlock()
	if falla != 0 {
		responderError(w, falla, "injected")
		return
	}
	if res == NoExiste {
		responderError(w, 24, "document does not exist in NubeFacT")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Respuesta(clave, res))
}

func responderError(w http.ResponseWriter, codigo int, msg string) {
	status := http.StatusBadRequest
	switch codigo {
	case 10, 11, 50, 51:
		status = http.StatusUnauthorized
	case 40:
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": msg, "codigo": codigo})
}

// Respuesta is NubeFacT's standard response for clave with outcome r. It is deterministic (the
// codigo_hash derives from the key), so the webhook and Operation 2 report the same thing.
func Respuesta(clave contracts.Clave, r Situacion) map[string]any {
	sum := sha256.Sum256([]byte(clave.String()))
	base := fmt.Sprintf("https://www.nubefact.com/cpe/sim-%s", clave)
	out := map[string]any{
		"tipo_de_comprobante": clave.TipoDeComprobante, "serie": clave.Serie, "numero": clave.Numero,
		"enlace": base, "enlace_del_pdf": base + ".pdf", "enlace_del_xml": base + ".xml",
		"codigo_hash": base64.StdEncoding.EncodeToString(sum[:20]), "sunat_soap_error": "",
		"aceptada_por_sunat": false, "anulado": false, "sunat_note": nil,
		"cadena_para_codigo_qr": "20123456789|03|" + clave.Serie + "|" + strconv.Itoa(clave.Numero),
	}
	switch r {
	case Aceptada:
		out["aceptada_por_sunat"] = true
		out["sunat_responsecode"] = "0"
		out["sunat_description"] = fmt.Sprintf("La Boleta de Venta numero %s-%d, ha sido aceptada", clave.Serie, clave.Numero)
		out["enlace_del_cdr"] = base + ".cdr"
	case Rechazada:
		out["sunat_responsecode"] = "2017"
		out["sunat_description"] = "El numero de documento de identidad del receptor debe ser RUC"
		out["enlace_del_cdr"] = base + ".cdr"
	case Anulada:
		out["aceptada_por_sunat"] = true
		out["anulado"] = true
		out["sunat_responsecode"] = "0"
		out["sunat_description"] = "Comunicación de baja aceptada"
		out["enlace_del_cdr"] = base + ".cdr"
	default: // Pendiente: in the Resumen Diario, no answer from SUNAT yet
		out["sunat_responsecode"] = nil
		out["sunat_description"] = nil
	}
	return out
}

// Webhook delivers NubeFacT's notification for clave to url like NubeFacT would: POST the
// standard response, and retry every delivery that did not get 200 (every `cada`) until it does
// or ctx ends. It returns the number of attempts.
func (s *Simulador) Webhook(ctx context.Context, url string, clave contracts.Clave, cada time.Duration) (int, error) {
	s.mu.Lock()
	s.porClave[clave]++
	res, ok := s.boletas[clave]
	if !ok {
		res = s.defecto
	}
	s.mu.Unlock()
	body, _ := json.Marshal(Respuesta(clave, res))
	for intento := 1; ; intento++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return intento, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return intento, nil
			}
		}
		select {
		case <-ctx.Done():
			return intento, fmt.Errorf("webhook for %s not delivered after %d attempts: %w", clave, intento, ctx.Err())
		case <-time.After(cada):
		}
	}
}
