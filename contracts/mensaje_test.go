package contracts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
)

func TestMensaje(t *testing.T) {
	recibido := time.Date(2026, 11, 29, 10, 0, 0, 123, time.FixedZone("PET", -5*3600))
	m := contracts.Topologia{Prefijo: "t1"}.Mensaje([]byte(`{}`), "id-1", contracts.OrigenWebhook, recibido, "203.0.113.7:1")
	if m.Subject != "t1.nubefact.notificaciones.webhook" || m.Stream != "T1_NUBEFACT_NOTIFICACIONES" || m.MsgID != "id-1" || string(m.Payload) != `{}` {
		t.Errorf("mensaje = %+v", m)
	}
	for k, want := range map[string]string{contracts.CabeceraRecibido: "2026-11-29T15:00:00.000000123Z", contracts.CabeceraRemitente: "203.0.113.7:1"} {
		if got := m.Cabeceras[k]; len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := m.Cabeceras[contracts.CabeceraOrigen]; ok {
		t.Error("the origin travels in a header: the subject says it")
	}
	sin := contracts.Topologia{}.Mensaje(nil, "id", contracts.OrigenRegularizacion, recibido, "")
	if _, ok := sin.Cabeceras[contracts.CabeceraRemitente]; ok {
		t.Error("an empty sender is a header")
	}
}

// A replay keeps its origin, on the replay subject; an origin recorded from a header before
// origins had subjects (any text) is replayed as unknown.
func TestReenvio(t *testing.T) {
	topo := contracts.Topologia{}
	for origen, subject := range map[string]string{
		contracts.OrigenWebhook:        "nubefact.notificaciones.replay.webhook",
		contracts.OrigenRegularizacion: "nubefact.notificaciones.replay.regularizacion",
		contracts.OrigenReenvio:        "nubefact.notificaciones.replay.desconocido",
		"a.b *>":                       "nubefact.notificaciones.replay.desconocido",
	} {
		if m := topo.Reenvio(nil, "id.replay.1", origen, time.Now(), ""); m.Subject != subject || m.MsgID != "id.replay.1" {
			t.Errorf("Reenvio(%q) = %s %s, want %s", origen, m.Subject, m.MsgID, subject)
		}
	}
}

func TestRespuestaNubefact(t *testing.T) {
	n := decode(t, []byte(respuestaConsulta))
	sin, body, err := contracts.RespuestaNubefact(n)
	if err != nil {
		t.Fatal(err)
	}
	if sin.PDFZipBase64 != nil || sin.CDRZipBase64 != nil || strings.Contains(string(body), "zip_base64\":\"") {
		t.Errorf("zipped documents kept: %s", body)
	}
	if again := decode(t, body); contracts.MessageID(again) != contracts.MessageID(n) {
		t.Error("the answer's body does not decode to the same notification")
	}
}
