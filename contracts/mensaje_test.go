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
	if m.Subject != "t1.nubefact.notificaciones" || m.Stream != "T1_NUBEFACT_NOTIFICACIONES" || m.MsgID != "id-1" || string(m.Payload) != `{}` {
		t.Errorf("mensaje = %+v", m)
	}
	for k, want := range map[string]string{contracts.HeaderOrigen: "webhook",
		contracts.HeaderRecibido: "2026-11-29T15:00:00.000000123Z", contracts.HeaderRemitente: "203.0.113.7:1"} {
		if got := m.Cabeceras[k]; len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	sin := contracts.Topologia{}.Mensaje(nil, "id", contracts.OrigenReplay, recibido, "")
	if _, ok := sin.Cabeceras[contracts.HeaderRemitente]; ok {
		t.Error("an empty sender is a header")
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
