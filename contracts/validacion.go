package contracts

import (
	"strings"
)

// NumeroMaximo is the largest correlativo SUNAT allows (8 digits).
const NumeroMaximo = 99999999

// Validate checks the rules every notification must meet before it may reach the stream. It
// returns a *FieldError naming the first field that breaks one. Links must be https URLs of any
// host; Decoder.Decode also applies its host allow-list.
func (n Notificacion) Validate() error {
	return n.validate(nil)
}

func (n Notificacion) validate(enlaceHosts []string) error {
	if n.TipoDeComprobante == nil {
		return &FieldError{"tipo_de_comprobante", "is required"}
	}
	tipo := *n.TipoDeComprobante
	if err := tipoValido(tipo); err != nil {
		return err
	}
	if n.Serie == nil {
		return &FieldError{"serie", "is required"}
	}
	if err := serieValida(tipo, *n.Serie); err != nil {
		return err
	}
	if n.Numero == nil {
		return &FieldError{"numero", "is required"}
	}
	if err := numeroValido(*n.Numero); err != nil {
		return err
	}
	if c := n.SunatResponsecode; c != nil && !isDigits(*c) {
		return &FieldError{"sunat_responsecode", "must be a string of 1 to 8 digits"}
	}
	// Postgres text cannot hold NUL, and a notification the database refuses would be retried
	// forever: refuse it here, where the sender still gets a 400.
	for _, t := range n.texts() {
		if t.value != nil && strings.IndexByte(*t.value, 0) >= 0 {
			return &FieldError{t.name, "must not contain NUL characters"}
		}
	}
	for _, e := range n.enlaces() {
		if err := enlaceValido(e.name, e.value, enlaceHosts); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a key by the rules a notification's key meets (tipo, serie, numero): a key
// that fails names no comprobante. It returns a *FieldError.
func (c Clave) Validate() error {
	if err := tipoValido(c.TipoDeComprobante); err != nil {
		return err
	}
	if err := serieValida(c.TipoDeComprobante, c.Serie); err != nil {
		return err
	}
	return numeroValido(c.Numero)
}

func tipoValido(tipo int) error {
	if !Tipo(tipo).Valid() {
		return &FieldError{"tipo_de_comprobante", "must be 1 (factura), 2 (boleta), 3 (nota de crédito) or 4 (nota de débito)"}
	}
	return nil
}

// numeroValido bounds the correlativo; the bound also keeps it within Postgres's integer.
func numeroValido(numero int) error {
	if numero < 1 || numero > NumeroMaximo {
		return &FieldError{"numero", "must be between 1 and 99999999"}
	}
	return nil
}

// serieValida applies SUNAT's series rules: four uppercase letters or digits; facturas and their
// notes start with F, boletas and their notes with B, contingency series with 0.
func serieValida(tipo int, s string) error {
	if len(s) != 4 {
		return &FieldError{"serie", "must be exactly 4 characters"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return &FieldError{"serie", "must contain only uppercase letters and digits"}
		}
	}
	switch first := s[0]; {
	case first == '0':
		return nil // contingencia
	case tipo == Factura && first != 'F':
		return &FieldError{"serie", "of a factura must start with F (or 0 for contingency)"}
	case tipo == Boleta && first != 'B':
		return &FieldError{"serie", "of a boleta must start with B (or 0 for contingency)"}
	case first != 'B' && first != 'F':
		return &FieldError{"serie", "of a nota must start with B or F (or 0 for contingency)"}
	}
	return nil
}

func isDigits(s string) bool {
	if len(s) == 0 || len(s) > 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

type texto struct {
	name  string
	value *string
}

// texts lists the string fields by JSON name, in the order of the struct.
func (n *Notificacion) texts() [15]texto {
	return [15]texto{
		{"serie", n.Serie}, {"enlace", n.Enlace}, {"sunat_description", n.SunatDescription},
		{"sunat_note", n.SunatNote}, {"sunat_responsecode", n.SunatResponsecode},
		{"sunat_soap_error", n.SunatSoapError}, {"enlace_del_pdf", n.EnlaceDelPDF},
		{"enlace_del_xml", n.EnlaceDelXML}, {"enlace_del_cdr", n.EnlaceDelCDR},
		{"codigo_hash", n.CodigoHash}, {"cadena_para_codigo_qr", n.CadenaParaCodigoQR},
		{"codigo_de_barras", n.CodigoDeBarras}, {"pdf_zip_base64", n.PDFZipBase64},
		{"xml_zip_base64", n.XMLZipBase64}, {"cdr_zip_base64", n.CDRZipBase64},
	}
}

// enlaces lists the links by JSON name.
func (n *Notificacion) enlaces() [4]texto {
	return [4]texto{
		{"enlace", n.Enlace}, {"enlace_del_pdf", n.EnlaceDelPDF},
		{"enlace_del_xml", n.EnlaceDelXML}, {"enlace_del_cdr", n.EnlaceDelCDR},
	}
}
