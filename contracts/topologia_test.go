package contracts_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

func TestTopologia(t *testing.T) {
	tests := []struct {
		prefijo string
		want    map[string]string
		eventos []string
	}{
		{"", map[string]string{
			"SubjectWebhook":       "nubefact.notificaciones.webhook",
			"SubjectReenvio":       "nubefact.notificaciones.replay.webhook",
			"StreamNotificaciones": "NUBEFACT_NOTIFICACIONES",
			"SubjectDeadLetters":   "nubefact.dlq",
			"StreamDeadLetters":    "NUBEFACT_DLQ",
			"StreamEventos":        "COMPROBANTES_EVENTOS",
		}, []string{"factura.>", "boleta.>", "nota_de_credito.>", "nota_de_debito.>"}},
		{"t42", map[string]string{
			"SubjectWebhook":       "t42.nubefact.notificaciones.webhook",
			"SubjectReenvio":       "t42.nubefact.notificaciones.replay.webhook",
			"StreamNotificaciones": "T42_NUBEFACT_NOTIFICACIONES",
			"SubjectDeadLetters":   "t42.nubefact.dlq",
			"StreamDeadLetters":    "T42_NUBEFACT_DLQ",
			"StreamEventos":        "T42_COMPROBANTES_EVENTOS",
		}, []string{"t42.factura.>", "t42.boleta.>", "t42.nota_de_credito.>", "t42.nota_de_debito.>"}},
		// Stream names may not contain dots: they become underscores, like dashes.
		{"ci.run-7", map[string]string{
			"SubjectWebhook":       "ci.run-7.nubefact.notificaciones.webhook",
			"SubjectReenvio":       "ci.run-7.nubefact.notificaciones.replay.webhook",
			"StreamNotificaciones": "CI_RUN_7_NUBEFACT_NOTIFICACIONES",
			"SubjectDeadLetters":   "ci.run-7.nubefact.dlq",
			"StreamDeadLetters":    "CI_RUN_7_NUBEFACT_DLQ",
			"StreamEventos":        "CI_RUN_7_COMPROBANTES_EVENTOS",
		}, []string{"ci.run-7.factura.>", "ci.run-7.boleta.>", "ci.run-7.nota_de_credito.>", "ci.run-7.nota_de_debito.>"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("prefijo %q", tt.prefijo), func(t *testing.T) {
			top := contracts.Topologia{Prefijo: tt.prefijo}
			got := map[string]string{
				"SubjectWebhook":       top.SubjectNotificacion(contracts.OrigenWebhook),
				"SubjectReenvio":       top.SubjectReenvio(contracts.OrigenWebhook),
				"StreamNotificaciones": top.StreamNotificaciones(),
				"SubjectDeadLetters":   top.SubjectDeadLetters(),
				"StreamDeadLetters":    top.StreamDeadLetters(),
				"StreamEventos":        top.StreamEventos(),
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s() = %q, want %q", name, got[name], want)
				}
			}
			if got := top.SubjectsEventos(); !slices.Equal(got, tt.eventos) {
				t.Errorf("SubjectsEventos() = %q, want %q", got, tt.eventos)
			}
			if got := top.TipoDeSubject(top.SubjectEvento(contracts.Boleta, contracts.Aceptado)); got != "boleta.aceptada" {
				t.Errorf("TipoDeSubject(SubjectEvento(boleta, aceptado)) = %q, want boleta.aceptada", got)
			}
		})
	}
}

func TestSubjectEvento(t *testing.T) {
	tipos := []struct {
		tipo   int
		nombre string
	}{
		{contracts.Factura, "factura"},
		{contracts.Boleta, "boleta"},
		{contracts.NotaDeCredito, "nota_de_credito"},
		{contracts.NotaDeDebito, "nota_de_debito"},
	}
	estados := []struct {
		estado     contracts.Resultado
		participio string
	}{
		{contracts.Aceptado, "aceptada"},
		{contracts.Rechazado, "rechazada"},
		{contracts.Anulado, "anulada"},
	}
	for _, prefijo := range []string{"", "t42"} {
		top := contracts.Topologia{Prefijo: prefijo}
		for _, tp := range tipos {
			for _, e := range estados {
				tipoEvento := tp.nombre + "." + e.participio
				want := tipoEvento
				if prefijo != "" {
					want = prefijo + "." + tipoEvento
				}
				t.Run(want, func(t *testing.T) {
					if got := contracts.TipoEvento(tp.tipo, e.estado); got != tipoEvento {
						t.Errorf("TipoEvento(%d, %q) = %q, want %q", tp.tipo, e.estado, got, tipoEvento)
					}
					got := top.SubjectEvento(tp.tipo, e.estado)
					if got != want {
						t.Errorf("SubjectEvento(%d, %q) = %q, want %q", tp.tipo, e.estado, got, want)
					}
					// The stream must capture every event subject.
					if !slices.ContainsFunc(top.SubjectsEventos(), func(w string) bool {
						return strings.HasPrefix(got, strings.TrimSuffix(w, ">"))
					}) {
						t.Errorf("%q matches none of SubjectsEventos() %q", got, top.SubjectsEventos())
					}
				})
			}
		}
	}
}

// The origin is the subject's: what NATS's permissions let each identity publish.
func TestOrigenDe(t *testing.T) {
	topo := contracts.Topologia{Prefijo: "t7"}
	tests := []struct {
		subject string
		origen  string
		reenvio bool
	}{
		{topo.SubjectNotificacion(contracts.OrigenWebhook), contracts.OrigenWebhook, false},
		{topo.SubjectNotificacion(contracts.OrigenRegularizacion), contracts.OrigenRegularizacion, false},
		{topo.SubjectReenvio(contracts.OrigenWebhook), contracts.OrigenWebhook, true},
		{topo.SubjectReenvio(contracts.OrigenRegularizacion), contracts.OrigenRegularizacion, true},
		{topo.SubjectReenvio(contracts.OrigenVerificacion), contracts.OrigenVerificacion, true},
		{topo.SubjectReenvio(contracts.OrigenDesconocido), contracts.OrigenDesconocido, true},
		// NubeFacT's answers are never published as such: nobody may claim to be one.
		{topo.SubjectNotificacion(contracts.OrigenVerificacion), contracts.OrigenDesconocido, false},
		{"t7.nubefact.notificaciones", contracts.OrigenDesconocido, false},
		{"t7.nubefact.notificaciones.otra", contracts.OrigenDesconocido, false},
		{"t7.nubefact.notificaciones.replay.replay", contracts.OrigenDesconocido, true},
		{"nubefact.notificaciones.webhook", contracts.OrigenDesconocido, false}, // another namespace
	}
	for _, tt := range tests {
		if origen, reenvio := topo.OrigenDe(tt.subject); origen != tt.origen || reenvio != tt.reenvio {
			t.Errorf("OrigenDe(%q) = %q, %v; want %q, %v", tt.subject, origen, reenvio, tt.origen, tt.reenvio)
		}
	}
}

func TestProbado(t *testing.T) {
	for origen, want := range map[string]bool{
		contracts.OrigenRegularizacion: true, contracts.OrigenVerificacion: true,
		contracts.OrigenWebhook: false, contracts.OrigenDesconocido: false, contracts.OrigenReenvio: false, "": false,
	} {
		if got := contracts.Probado(origen); got != want {
			t.Errorf("Probado(%q) = %v, want %v", origen, got, want)
		}
	}
}
