package verificacion_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
	"github.com/hotelpe/boletas/reconciler/internal/rate"
	"github.com/hotelpe/boletas/reconciler/internal/verificacion"
	"github.com/hotelpe/boletas/reconciler/nubefact"
	"github.com/hotelpe/boletas/reconciler/nubefact/simulador"
)

const token = "sim-token-0123456789"

// newVerificador verifies against a NubeFacT simulator of the test's own.
func newVerificador(t *testing.T) (*verificacion.Verificador, *simulador.Simulador) {
	t.Helper()
	sim := simulador.New(token)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	client, err := nubefact.New(srv.URL+sim.Ruta, token, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	client.Retries = 0
	limiter := rate.New(0)
	t.Cleanup(limiter.Stop)
	return &verificacion.Verificador{Consultor: client, Rate: limiter, Concurrency: 2, Intentos: 3,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))}, sim
}

// webhook is the notification NubeFacT's simulator would send for clave with outcome s, with
// cambiar applied to it (a forger's edits), as received on its first delivery.
func webhook(t *testing.T, clave contracts.Clave, s simulador.Situacion, cambiar func(map[string]any)) estado.Recibida {
	t.Helper()
	m := simulador.Respuesta(clave, s)
	if cambiar != nil {
		cambiar(m)
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	n, err := contracts.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	return estado.Recibida{MessageID: contracts.MessageID(n), Notificacion: n, Payload: body,
		Origen: contracts.OrigenWebhook, Recibido: time.Now(), Intentos: 1}
}

func TestConfirmar(t *testing.T) {
	v, sim := newVerificador(t)
	clave := func(n int) contracts.Clave {
		return contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BVER", Numero: n}
	}
	for n := 1; n <= 4; n++ {
		sim.Poner(clave(n), simulador.Aceptada)
	}
	sim.Poner(clave(5), simulador.Pendiente)
	recibidas := []estado.Recibida{
		webhook(t, clave(1), simulador.Aceptada, nil),
		webhook(t, clave(2), simulador.Aceptada, func(m map[string]any) { m["enlace_del_cdr"] = "https://forjado.example/cdr.zip" }),
		webhook(t, clave(3), simulador.Rechazada, nil),
		webhook(t, clave(5), simulador.Aceptada, nil),
		webhook(t, clave(6), simulador.Aceptada, nil),
		webhook(t, clave(4), simulador.Aceptada, nil),
	}
	recibidas[5].Origen = contracts.OrigenRegularizacion // NubeFacT's own answer: never asked again

	errs := v.Confirmar(context.Background(), recibidas, func(*estado.Recibida) bool { return true })

	if errs[0] != nil || recibidas[0].Reemplazo != nil || !strings.Contains(recibidas[0].Nota, "confirmado por NubeFacT") {
		t.Errorf("the genuine webhook: err %v, reemplazo %+v, nota %q; want confirmed as it is", errs[0], recibidas[0].Reemplazo, recibidas[0].Nota)
	}
	if r := recibidas[1].Reemplazo; errs[1] != nil || r == nil || r.Efecto != estado.Corregido || !strings.Contains(r.Motivo, "enlace_del_cdr") ||
		r.Respuesta == nil || r.Respuesta.Origen != contracts.OrigenVerificacion {
		t.Errorf("a forged CDR link: err %v, reemplazo %+v; want corregido by NubeFacT's answer, naming enlace_del_cdr", errs[1], r)
	}
	if r := recibidas[2].Reemplazo; errs[2] != nil || r == nil || r.Efecto != estado.Conflicto || r.Respuesta == nil {
		t.Errorf("a forged outcome: err %v, reemplazo %+v; want a conflict, NubeFacT's answer applied", errs[2], r)
	}
	for _, i := range []int{3, 4} { // no final answer yet; not known to NubeFacT
		if !errors.Is(errs[i], verificacion.ErrSinConfirmar) || recibidas[i].Reemplazo != nil {
			t.Errorf("webhook %d: err %v, reemplazo %+v; want ErrSinConfirmar and nothing replaced", i, errs[i], recibidas[i].Reemplazo)
		}
	}
	if errs[5] != nil || sim.LlamadasDe(clave(4)) != 0 {
		t.Errorf("a proven origin: err %v, %d calls; want no call", errs[5], sim.LlamadasDe(clave(4)))
	}

	// After Intentos deliveries without a final answer, the webhook is recorded as a conflict.
	e := recibidas[3]
	if v.NoConfirmado(&e, errs[3]) {
		t.Error("NoConfirmado at the first delivery: want false, it is retried")
	}
	e.Intentos = 3
	if !v.NoConfirmado(&e, errs[3]) || e.Reemplazo == nil || e.Reemplazo.Efecto != estado.Conflicto {
		t.Errorf("NoConfirmado at delivery 3 of 3: reemplazo %+v; want a conflict", e.Reemplazo)
	}
}

// Aparcadas returns the message IDs that must keep waiting: those NubeFacT cannot confirm yet.
func TestAparcadasSinConfirmarSiguenEsperando(t *testing.T) {
	v, sim := newVerificador(t)
	confirmada := contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BVAP", Numero: 1}
	pendiente := contracts.Clave{TipoDeComprobante: contracts.Boleta, Serie: "BVAP", Numero: 2}
	sim.Poner(confirmada, simulador.Aceptada)
	sim.Poner(pendiente, simulador.Pendiente)
	recibidas := []estado.Recibida{webhook(t, confirmada, simulador.Aceptada, nil), webhook(t, pendiente, simulador.Aceptada, nil)}
	esperar := v.Aparcadas(context.Background(), recibidas)
	if len(esperar) != 1 || esperar[0] != recibidas[1].MessageID {
		t.Errorf("esperar = %v, want only %s (NubeFacT has no final answer for it)", esperar, recibidas[1].MessageID)
	}
}
