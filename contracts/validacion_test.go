package contracts_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

// boleta returns a valid notification: the seed payload as a struct.
func boleta() contracts.Notificacion {
	return contracts.Notificacion{
		TipoDeComprobante: new(contracts.Boleta),
		Serie:             new("BBB1"),
		Numero:            new(105),
		Enlace:            new("https://www.nubefact.com/cpe/..."),
		AceptadaPorSunat:  new(true),
		SunatDescription:  new("La Boleta de Venta numero BBB1-105, ha sido aceptada"),
		SunatResponsecode: new("0"),
		EnlaceDelPDF:      new("https://www.nubefact.com/cpe/xxx.pdf"),
		EnlaceDelXML:      new("https://www.nubefact.com/cpe/xxx.xml"),
		EnlaceDelCDR:      new("https://www.nubefact.com/cpe/xxx.cdr"),
		CodigoHash:        new("xMLFMnbgp1/bHEy572RKRTE9hPY="),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*contracts.Notificacion)
		field  string // "" when valid
	}{
		{"seed", func(*contracts.Notificacion) {}, ""},

		{"tipo missing", func(n *contracts.Notificacion) { n.TipoDeComprobante = nil }, "tipo_de_comprobante"},
		{"tipo 0", func(n *contracts.Notificacion) { n.TipoDeComprobante = new(0) }, "tipo_de_comprobante"},
		{"tipo 5", func(n *contracts.Notificacion) { n.TipoDeComprobante = new(5) }, "tipo_de_comprobante"},
		{"tipo negative", func(n *contracts.Notificacion) { n.TipoDeComprobante = new(-2) }, "tipo_de_comprobante"},

		{"serie missing", func(n *contracts.Notificacion) { n.Serie = nil }, "serie"},
		{"numero missing", func(n *contracts.Notificacion) { n.Numero = nil }, "numero"},
		{"numero 0", func(n *contracts.Notificacion) { n.Numero = new(0) }, "numero"},
		{"numero negative", func(n *contracts.Notificacion) { n.Numero = new(-1) }, "numero"},
		{"numero 1", func(n *contracts.Notificacion) { n.Numero = new(1) }, ""},
		{"numero 99999999", func(n *contracts.Notificacion) { n.Numero = new(contracts.NumeroMaximo) }, ""},
		{"numero 100000000", func(n *contracts.Notificacion) { n.Numero = new(100000000) }, "numero"},

		{"responsecode null", func(n *contracts.Notificacion) { n.SunatResponsecode = nil }, ""},
		{"responsecode 0", func(n *contracts.Notificacion) { n.SunatResponsecode = new("0") }, ""},
		{"responsecode 0100", func(n *contracts.Notificacion) { n.SunatResponsecode = new("0100") }, ""},
		{"responsecode 8 digits", func(n *contracts.Notificacion) { n.SunatResponsecode = new("12345678") }, ""},
		{"responsecode 9 digits", func(n *contracts.Notificacion) { n.SunatResponsecode = new("123456789") }, "sunat_responsecode"},
		{"responsecode empty", func(n *contracts.Notificacion) { n.SunatResponsecode = new("") }, "sunat_responsecode"},
		{"responsecode abc", func(n *contracts.Notificacion) { n.SunatResponsecode = new("abc") }, "sunat_responsecode"},
		{"responsecode signed", func(n *contracts.Notificacion) { n.SunatResponsecode = new("+100") }, "sunat_responsecode"},
		{"responsecode negative", func(n *contracts.Notificacion) { n.SunatResponsecode = new("-1") }, "sunat_responsecode"},
		{"responsecode spaces", func(n *contracts.Notificacion) { n.SunatResponsecode = new(" 0") }, "sunat_responsecode"},

		{"every optional field null", func(n *contracts.Notificacion) {
			*n = contracts.Notificacion{TipoDeComprobante: n.TipoDeComprobante, Serie: n.Serie, Numero: n.Numero}
		}, ""},
		{"enlaces nil", func(n *contracts.Notificacion) {
			n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR = nil, nil, nil, nil
		}, ""},
		{"enlaces empty", func(n *contracts.Notificacion) {
			n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR = new(""), new(""), new(""), new("")
		}, ""},
		{"enlace of any https host", func(n *contracts.Notificacion) { n.Enlace = new("https://cdn.example.org:8443/a?b=1#c") }, ""},
		{"enlace of 2048 bytes", func(n *contracts.Notificacion) { n.EnlaceDelXML = new(enlaceDe(2048)) }, ""},
		{"enlace of 2049 bytes", func(n *contracts.Notificacion) { n.EnlaceDelXML = new(enlaceDe(2049)) }, "enlace_del_xml"},
		{"enlace http", func(n *contracts.Notificacion) { n.EnlaceDelCDR = new("http://www.nubefact.com/cpe/xxx.cdr") }, "enlace_del_cdr"},
		{"enlace javascript", func(n *contracts.Notificacion) { n.Enlace = new("javascript:alert(document.cookie)") }, "enlace"},
		{"enlace data", func(n *contracts.Notificacion) { n.EnlaceDelPDF = new("data:application/pdf;base64,JVBERi0=") }, "enlace_del_pdf"},
		{"enlace file", func(n *contracts.Notificacion) { n.EnlaceDelXML = new("file:///etc/passwd") }, "enlace_del_xml"},
		{"enlace without host", func(n *contracts.Notificacion) { n.EnlaceDelCDR = new("https:///cpe/xxx.cdr") }, "enlace_del_cdr"},
		{"enlace with user info", func(n *contracts.Notificacion) { n.EnlaceDelCDR = new("https://www.nubefact.com@evil.example/") }, "enlace_del_cdr"},
		{"enlace with a newline", func(n *contracts.Notificacion) { n.EnlaceDelCDR = new("https://www.nubefact.com/\nx") }, "enlace_del_cdr"},
		{"NUL in codigo_hash", func(n *contracts.Notificacion) { n.CodigoHash = new("x\x00") }, "codigo_hash"},
		{"NUL in cdr_zip_base64", func(n *contracts.Notificacion) { n.CDRZipBase64 = new("\x00") }, "cdr_zip_base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := boleta()
			tt.change(&n)
			err := n.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantFieldError(t, err, tt.field)
		})
	}
}

func TestValidateSerie(t *testing.T) {
	tipos := map[int]string{
		contracts.Factura:       "factura",
		contracts.Boleta:        "boleta",
		contracts.NotaDeCredito: "nota_de_credito",
		contracts.NotaDeDebito:  "nota_de_debito",
	}
	tests := []struct {
		serie string
		valid map[int]bool // tipos for which the serie is valid
	}{
		// SUNAT: facturas start with F, boletas with B, their notas with either; contingency with 0.
		{"F001", map[int]bool{contracts.Factura: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"FC01", map[int]bool{contracts.Factura: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"BBB1", map[int]bool{contracts.Boleta: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"B001", map[int]bool{contracts.Boleta: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"0001", map[int]bool{contracts.Factura: true, contracts.Boleta: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"0ABC", map[int]bool{contracts.Factura: true, contracts.Boleta: true, contracts.NotaDeCredito: true, contracts.NotaDeDebito: true}},
		{"1001", nil},
		{"X001", nil},
		{"E001", nil},
		{"b001", nil},
		{"f001", nil},
		{"Bbb1", nil},
		{"BB-1", nil},
		{"BB 1", nil},
		{"B01", nil},
		{"B0001", nil},
		{"", nil},
		{"BÑ1", nil},  // four bytes, one of them not A-Z
		{"BBÑ1", nil}, // five bytes
	}
	for _, tt := range tests {
		for tipo, nombre := range tipos {
			t.Run(fmt.Sprintf("%s/%q", nombre, tt.serie), func(t *testing.T) {
				n := boleta()
				n.TipoDeComprobante = new(tipo)
				n.Serie = new(tt.serie)
				err := n.Validate()
				if tt.valid[tipo] {
					if err != nil {
						t.Fatalf("Validate() = %v, want nil", err)
					}
					return
				}
				wantFieldError(t, err, "serie")
			})
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	n := boleta()
	b.ReportAllocs()
	for b.Loop() {
		if err := n.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClaveValidate(t *testing.T) {
	tests := []struct {
		clave contracts.Clave
		field string // "" when valid
	}{
		{contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 105}, ""},
		{contracts.Clave{TipoDeComprobante: 1, Serie: "F001", Numero: contracts.NumeroMaximo}, ""},
		{contracts.Clave{TipoDeComprobante: 3, Serie: "0001", Numero: 1}, ""},
		{contracts.Clave{TipoDeComprobante: 0, Serie: "BBB1", Numero: 1}, "tipo_de_comprobante"},
		{contracts.Clave{TipoDeComprobante: 5, Serie: "BBB1", Numero: 1}, "tipo_de_comprobante"},
		{contracts.Clave{TipoDeComprobante: 2, Serie: "FFF1", Numero: 1}, "serie"},
		{contracts.Clave{TipoDeComprobante: 2, Serie: "bbb1", Numero: 1}, "serie"},
		{contracts.Clave{TipoDeComprobante: 2, Serie: "BBB12", Numero: 1}, "serie"},
		{contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 0}, "numero"},
		{contracts.Clave{TipoDeComprobante: 2, Serie: "BBB1", Numero: 99999999999}, "numero"},
	}
	for _, tt := range tests {
		t.Run(tt.clave.String(), func(t *testing.T) {
			err := tt.clave.Validate()
			var fe *contracts.FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("Validate: %v, want nil", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Errorf("Validate: %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}
