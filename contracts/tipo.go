package contracts

import "strconv"

// Tipos de comprobante, as NubeFacT and SUNAT number them. The constants are untyped, so that
// they fit both the number every key and payload carries (Clave.TipoDeComprobante, an int on the
// wire) and Tipo.
const (
	Factura       = 1
	Boleta        = 2
	NotaDeCredito = 3
	NotaDeDebito  = 4
)

// Tipo is a tipo de comprobante (tipo_de_comprobante). It names the number; JSON keeps the
// number itself.
type Tipo int

// Tipos are the four tipos de comprobante, in SUNAT's order.
var Tipos = []Tipo{Factura, Boleta, NotaDeCredito, NotaDeDebito}

// Valid reports whether t is one of Tipos.
func (t Tipo) Valid() bool { return t >= Factura && t <= NotaDeDebito }

// String is t's label in subjects, event types and metrics: "factura", "boleta",
// "nota_de_credito" or "nota_de_debito"; the number itself for any other.
func (t Tipo) String() string {
	if !t.Valid() {
		return strconv.Itoa(int(t))
	}
	return etiquetas[t]
}

var etiquetas = [...]string{
	Factura:       "factura",
	Boleta:        "boleta",
	NotaDeCredito: "nota_de_credito",
	NotaDeDebito:  "nota_de_debito",
}
