package contracts_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// esquemaEvento compiles the embedded schema, asserting formats (date, date-time) as a strict
// subscriber would. Compiling also checks the schema against the draft 2020-12 metaschema.
func esquemaEvento(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(contracts.EsquemaEventoJSON))
	if err != nil {
		tb.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(contracts.EsquemaEventoV1, doc); err != nil {
		tb.Fatal(err)
	}
	sch, err := c.Compile(contracts.EsquemaEventoV1)
	if err != nil {
		tb.Fatal(err)
	}
	return sch
}

// comoJSON returns v as a generic JSON value, the way a subscriber in any language sees it.
func comoJSON(tb testing.TB, v any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return doc.(map[string]any)
}

var lima = time.FixedZone("PET", -5*60*60)

// boletaAceptada is the data of the event the seed webhook causes.
func boletaAceptada() contracts.ComprobanteEvento {
	return contracts.ComprobanteEvento{
		TipoDeComprobante: contracts.Boleta,
		Serie:             "BBB1",
		Numero:            105,
		Estado:            contracts.Aceptado,
		EstadoAnterior:    "pendiente",
		FechaDeEmision:    new("2024-05-02"),
		Enlace:            new("https://www.nubefact.com/cpe/..."),
		EnlaceDelPDF:      new("https://www.nubefact.com/cpe/xxx.pdf"),
		EnlaceDelXML:      new("https://www.nubefact.com/cpe/xxx.xml"),
		EnlaceDelCDR:      new("https://www.nubefact.com/cpe/xxx.cdr"),
		CodigoHash:        new("xMLFMnbgp1/bHEy572RKRTE9hPY="),
		SunatResponsecode: new("0"),
		SunatDescription:  new("La Boleta de Venta numero BBB1-105, ha sido aceptada"),
		EstadoFinalEn:     time.Date(2024, 5, 3, 4, 30, 0, 0, lima),
		Origen:            contracts.OrigenWebhook,
		NotificacionID:    "2-BBB1-105.aceptado.b3c6bcf87a3426f8",
	}
}

func TestEsquemaEvento(t *testing.T) {
	var doc struct {
		ID         string `json:"$id"`
		Properties struct {
			Type struct {
				Enum []string `json:"enum"`
			} `json:"type"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(contracts.EsquemaEventoJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != contracts.EsquemaEventoV1 {
		t.Errorf("$id = %q, want EsquemaEventoV1 %q", doc.ID, contracts.EsquemaEventoV1)
	}
	var tipos []string
	for _, tipo := range []int{contracts.Factura, contracts.Boleta, contracts.NotaDeCredito, contracts.NotaDeDebito} {
		for _, estado := range []contracts.Resultado{contracts.Aceptado, contracts.Rechazado, contracts.Anulado} {
			tipos = append(tipos, contracts.TipoEvento(tipo, estado))
		}
	}
	for _, tipo := range []int{contracts.Factura, contracts.Boleta, contracts.NotaDeCredito, contracts.NotaDeDebito} {
		tipos = append(tipos, contracts.TipoActualizada(tipo))
	}
	if !slices.Equal(doc.Properties.Type.Enum, tipos) {
		t.Errorf("schema's type enum = %q, want every TipoEvento %q", doc.Properties.Type.Enum, tipos)
	}
	esquemaEvento(t)
}

func TestNewEvento(t *testing.T) {
	sch := esquemaEvento(t)
	tests := []struct {
		name        string
		change      func(*contracts.ComprobanteEvento)
		id, subject string
		tipo        string
	}{
		{"boleta aceptada", func(*contracts.ComprobanteEvento) {}, "2-BBB1-105.aceptado", "2-BBB1-105", "boleta.aceptada"},
		{"factura rechazada, unknown fields null", func(d *contracts.ComprobanteEvento) {
			*d = contracts.ComprobanteEvento{
				TipoDeComprobante: contracts.Factura, Serie: "F001", Numero: 99999999,
				Estado: contracts.Rechazado, EstadoAnterior: "pendiente",
				SunatResponsecode: new("2033"), EstadoFinalEn: time.Date(2024, 5, 3, 9, 0, 0, 123456789, time.UTC),
				Origen: contracts.OrigenRegularizacion, NotificacionID: "1-F001-99999999.rechazado.0000000000000000",
			}
		}, "1-F001-99999999.rechazado", "1-F001-99999999", "factura.rechazada"},
		{"nota de crédito anulada, contingency serie", func(d *contracts.ComprobanteEvento) {
			d.TipoDeComprobante, d.Serie, d.Numero, d.Estado = contracts.NotaDeCredito, "0001", 1, contracts.Anulado
			d.EstadoAnterior = "aceptado"
		}, "3-0001-1.anulado", "3-0001-1", "nota_de_credito.anulada"},
		{"nota de débito aceptada, caller's version ignored", func(d *contracts.ComprobanteEvento) {
			d.TipoDeComprobante, d.Serie, d.Version = contracts.NotaDeDebito, "FD01", 7
		}, "4-FD01-105.aceptado", "4-FD01-105", "nota_de_debito.aceptada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := boletaAceptada()
			tt.change(&data)
			ev := contracts.NewEvento(data)

			if ev.ID != tt.id || ev.Subject != tt.subject || ev.Type != tt.tipo {
				t.Errorf("id, subject, type = %q, %q, %q; want %q, %q, %q", ev.ID, ev.Subject, ev.Type, tt.id, tt.subject, tt.tipo)
			}
			if ev.ID != contracts.EventID(contracts.Clave{TipoDeComprobante: data.TipoDeComprobante, Serie: data.Serie, Numero: data.Numero}, data.Estado) {
				t.Errorf("ID %q is not the EventID", ev.ID)
			}
			if ev.SpecVersion != "1.0" || ev.Source != contracts.FuenteReconciler || ev.DataSchema != contracts.EsquemaEventoV1 || ev.DataContentType != "application/json" {
				t.Errorf("envelope constants = %q %q %q %q", ev.SpecVersion, ev.Source, ev.DataSchema, ev.DataContentType)
			}
			if ev.Data.Version != contracts.VersionEvento {
				t.Errorf("data.version = %d, want %d", ev.Data.Version, contracts.VersionEvento)
			}
			if !ev.Time.Equal(data.EstadoFinalEn) || ev.Time.Location() != time.UTC {
				t.Errorf("time = %v, want %v in UTC", ev.Time, data.EstadoFinalEn)
			}
			if err := sch.Validate(comoJSON(t, ev)); err != nil {
				t.Errorf("event does not match the schema: %v", err)
			}
		})
	}
}

// TestNuevoEventoActualizado: filling in documents of a comprobante whose estado stays the same
// publishes <tipo>.actualizada, with an ID naming the fields filled, valid against the schema.
func TestNewEventoActualizado(t *testing.T) {
	sch := esquemaEvento(t)
	data := boletaAceptada()
	data.EstadoAnterior = string(data.Estado)
	for _, tt := range []struct {
		campos  contracts.Campos
		id      string
		nombres []string
	}{
		{contracts.CampoEnlaceDelCDR, "2-BBB1-105.aceptado.completado.enlace_del_cdr", []string{"enlace_del_cdr"}},
		{contracts.CampoEnlaceDelCDR | contracts.CampoEnlace | contracts.CampoSunatNote,
			"2-BBB1-105.aceptado.completado.enlace+enlace_del_cdr+sunat_note", []string{"enlace", "enlace_del_cdr", "sunat_note"}},
	} {
		en := data.EstadoFinalEn.Add(time.Hour)
		ev := contracts.NewEventoActualizado(data, tt.campos, en)
		if !ev.Time.Equal(en) || !ev.Data.EstadoFinalEn.Equal(data.EstadoFinalEn) {
			t.Errorf("time %v, estado_final_en %v; want when it was completed and when the estado was entered", ev.Time, ev.Data.EstadoFinalEn)
		}
		if ev.ID != tt.id || ev.Type != "boleta.actualizada" || ev.Data.Estado != contracts.Aceptado ||
			!slices.Equal(ev.Data.CamposCompletados, tt.nombres) {
			t.Errorf("event = id %q, type %q, estado %s, campos %v; want %q, boleta.actualizada, aceptado, %v",
				ev.ID, ev.Type, ev.Data.Estado, ev.Data.CamposCompletados, tt.id, tt.nombres)
		}
		if got := (contracts.Topologia{Prefijo: "t1"}).SubjectDe(ev); got != "t1.boleta.actualizada" {
			t.Errorf("subject = %q, want t1.boleta.actualizada", got)
		}
		if err := sch.Validate(comoJSON(t, ev)); err != nil {
			t.Errorf("actualizada event does not match the schema: %v", err)
		}
	}
	// A state change never carries campos_completados.
	if ev := contracts.NewEvento(data); ev.Data.CamposCompletados != nil {
		t.Errorf("NewEvento carries campos_completados %v", ev.Data.CamposCompletados)
	}
}

// TestEsquemaEventoRechaza proves the schema check above can fail.
func TestEsquemaEventoRechaza(t *testing.T) {
	sch := esquemaEvento(t)
	tests := []struct {
		name   string
		change func(ev, data map[string]any)
	}{
		{"id missing", func(ev, _ map[string]any) { delete(ev, "id") }},
		{"id of a notification", func(ev, _ map[string]any) { ev["id"] = "2-BBB1-105.aceptado.b3c6bcf87a3426f8" }},
		{"bad type", func(ev, _ map[string]any) { ev["type"] = "boleta.pendiente" }},
		{"type of another spec", func(ev, _ map[string]any) { ev["type"] = "com.example.boleta" }},
		{"specversion 0.3", func(ev, _ map[string]any) { ev["specversion"] = "0.3" }},
		{"other source", func(ev, _ map[string]any) { ev["source"] = "urn:otro" }},
		{"other dataschema", func(ev, _ map[string]any) { ev["dataschema"] = "urn:hotelpe:boletas:schema:comprobante-evento:v2" }},
		{"time not a date-time", func(ev, _ map[string]any) { ev["time"] = "ayer" }},
		{"data missing", func(ev, _ map[string]any) { delete(ev, "data") }},
		{"data.version 2", func(_, d map[string]any) { d["version"] = json.Number("2") }},
		{"data.tipo 5", func(_, d map[string]any) { d["tipo_de_comprobante"] = json.Number("5") }},
		{"data.serie lowercase", func(_, d map[string]any) { d["serie"] = "bbb1" }},
		{"data.serie too long", func(_, d map[string]any) { d["serie"] = "BBB10" }},
		{"data.numero 0", func(_, d map[string]any) { d["numero"] = json.Number("0") }},
		{"data.numero 100000000", func(_, d map[string]any) { d["numero"] = json.Number("100000000") }},
		{"data.numero as string", func(_, d map[string]any) { d["numero"] = "105" }},
		{"data.estado sin_resultado", func(_, d map[string]any) { d["estado"] = "sin_resultado" }},
		{"data.fecha_de_emision not a date", func(_, d map[string]any) { d["fecha_de_emision"] = "2024-13-45" }},
		{"data.fecha_de_emision with time", func(_, d map[string]any) { d["fecha_de_emision"] = "2024-05-02T00:00:00Z" }},
		{"data.codigo_hash absent instead of null", func(_, d map[string]any) { delete(d, "codigo_hash") }},
		{"data.sunat_responsecode as number", func(_, d map[string]any) { d["sunat_responsecode"] = json.Number("0") }},
		{"data.sunat_responsecode not digits", func(_, d map[string]any) { d["sunat_responsecode"] = "abc" }},
		{"data.enlace_del_cdr as number", func(_, d map[string]any) { d["enlace_del_cdr"] = json.Number("5") }},
		{"data.enlace_del_cdr http", func(_, d map[string]any) { d["enlace_del_cdr"] = "http://www.nubefact.com/cpe/xxx.cdr" }},
		{"data.enlace javascript", func(_, d map[string]any) { d["enlace"] = "javascript:alert(1)" }},
		{"data.enlace_del_pdf data", func(_, d map[string]any) { d["enlace_del_pdf"] = "data:application/pdf;base64,JVBERi0=" }},
		{"data.enlace_del_xml file", func(_, d map[string]any) { d["enlace_del_xml"] = "file:///etc/passwd" }},
		{"data.enlace_del_cdr of 2049 characters", func(_, d map[string]any) { d["enlace_del_cdr"] = enlaceDe(2049) }},
		{"data.estado_final_en null", func(_, d map[string]any) { d["estado_final_en"] = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := comoJSON(t, contracts.NewEvento(boletaAceptada()))
			tt.change(ev, ev["data"].(map[string]any))
			if err := sch.Validate(ev); err == nil {
				t.Errorf("schema accepted %v", ev)
			}
		})
	}
	t.Run("NewEvento for sin_resultado", func(t *testing.T) {
		data := boletaAceptada()
		data.Estado = contracts.SinResultado
		if err := sch.Validate(comoJSON(t, contracts.NewEvento(data))); err == nil {
			t.Error("schema accepted an event for a comprobante that has no final estado")
		}
	})
}

// The schema states the rule Validate applies to the links: what Validate accepts, a
// subscriber's validator accepts, and the links Validate refuses for their scheme, host or
// length the schema refuses too.
func TestEsquemaEventoEnlaces(t *testing.T) {
	sch := esquemaEvento(t)
	tests := []struct {
		enlace string
		valido bool
	}{
		{"", true},
		{"https://www.nubefact.com/cpe/xxx.cdr", true},
		{"https://www.nubefact.com", true},
		{"https://www.nubefact.com:8443/a?b=1#c", true},
		{"https://[2001:db8::1]/x", true},
		{"https://www.nubefact.com/cpe/ñandú.pdf", true},
		{enlaceDe(2048), true},

		{enlaceDe(2049), false},
		{"http://www.nubefact.com/cpe/xxx.cdr", false},
		{"HTTPS://www.nubefact.com/cpe/xxx.cdr", false},
		{"javascript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"file:///etc/passwd", false},
		{"//www.nubefact.com/x", false},
		{" https://www.nubefact.com/x", false},
		{"https://", false},
		{"https:///x", false},
		{"https://?x", false},
		{"https://www.nubefact.com@evil.example/x", false},
		{"https://u:p@www.nubefact.com/x", false},
	}
	for _, tt := range tests {
		for _, f := range []string{"enlace", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr"} {
			ev := comoJSON(t, contracts.NewEvento(boletaAceptada()))
			ev["data"].(map[string]any)[f] = tt.enlace
			if err := sch.Validate(ev); (err == nil) != tt.valido {
				t.Errorf("schema on %s %.40q: %v, want valid=%v", f, tt.enlace, err, tt.valido)
			}
		}
		n := boleta()
		n.EnlaceDelCDR = &tt.enlace
		if err := n.Validate(); (err == nil) != tt.valido {
			t.Errorf("Validate on %.40q: %v, want valid=%v", tt.enlace, err, tt.valido)
		}
	}
}

func ExampleNewEvento() {
	data := contracts.ComprobanteEvento{
		TipoDeComprobante: contracts.Boleta,
		Serie:             "BBB1",
		Numero:            105,
		Estado:            contracts.Aceptado,
		EstadoAnterior:    "pendiente",
		EnlaceDelCDR:      new("https://www.nubefact.com/cpe/xxx.cdr"),
		CodigoHash:        new("xMLFMnbgp1/bHEy572RKRTE9hPY="),
		SunatResponsecode: new("0"),
		EstadoFinalEn:     time.Date(2024, 5, 3, 4, 30, 0, 0, time.FixedZone("PET", -5*60*60)),
		Origen:            contracts.OrigenWebhook,
		NotificacionID:    "2-BBB1-105.aceptado.b3c6bcf87a3426f8",
	}
	ev := contracts.NewEvento(data)
	fmt.Println("subject:", contracts.Topologia{}.SubjectEvento(data.TipoDeComprobante, data.Estado))
	b, _ := json.MarshalIndent(ev, "", "  ")
	fmt.Println(string(b))
	// Output:
	// subject: boleta.aceptada
	// {
	//   "specversion": "1.0",
	//   "id": "2-BBB1-105.aceptado",
	//   "source": "urn:hotelpe:boletas:reconciler",
	//   "type": "boleta.aceptada",
	//   "subject": "2-BBB1-105",
	//   "time": "2024-05-03T09:30:00Z",
	//   "datacontenttype": "application/json",
	//   "dataschema": "urn:hotelpe:boletas:schema:comprobante-evento:v1",
	//   "data": {
	//     "version": 1,
	//     "tipo_de_comprobante": 2,
	//     "serie": "BBB1",
	//     "numero": 105,
	//     "estado": "aceptado",
	//     "estado_anterior": "pendiente",
	//     "fecha_de_emision": null,
	//     "enlace": null,
	//     "enlace_del_pdf": null,
	//     "enlace_del_xml": null,
	//     "enlace_del_cdr": "https://www.nubefact.com/cpe/xxx.cdr",
	//     "codigo_hash": "xMLFMnbgp1/bHEy572RKRTE9hPY=",
	//     "sunat_responsecode": "0",
	//     "sunat_description": null,
	//     "sunat_note": null,
	//     "estado_final_en": "2024-05-03T09:30:00Z",
	//     "origen": "webhook",
	//     "notificacion_id": "2-BBB1-105.aceptado.b3c6bcf87a3426f8"
	//   }
	// }
}
