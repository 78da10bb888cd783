package contracts

// Campos is a set of the documents and texts a notification may bring after the outcome itself:
// the links (the CDR above all, the legal proof of acceptance), SUNAT's description and note.
// A repeat of the outcome that brings one the comprobante still lacks fills it in.
type Campos uint8

const (
	CampoEnlace Campos = 1 << iota
	CampoEnlaceDelPDF
	CampoEnlaceDelXML
	CampoEnlaceDelCDR
	CampoSunatDescription
	CampoSunatNote
)

// nombresCampos are the JSON names, in bit order.
var nombresCampos = [...]string{"enlace", "enlace_del_pdf", "enlace_del_xml", "enlace_del_cdr", "sunat_description", "sunat_note"}

// TodosLosCampos is the set of every field: its Nombres are every field's JSON name, which is
// also its column's name in the reconciler's comprobantes table.
const TodosLosCampos Campos = 1<<len(nombresCampos) - 1

// Nombres lists the JSON names of the fields in c, in a fixed order.
func (c Campos) Nombres() []string {
	var out []string
	for i, nombre := range nombresCampos {
		if c&(1<<i) != 0 {
			out = append(out, nombre)
		}
	}
	return out
}

// Valores returns the notification's values of every field of Campos, in bit order.
func (n *Notificacion) Valores() [len(nombresCampos)]*string {
	return [...]*string{n.Enlace, n.EnlaceDelPDF, n.EnlaceDelXML, n.EnlaceDelCDR, n.SunatDescription, n.SunatNote}
}

// Campos is the set of those fields the notification brings: present and not empty (NubeFacT
// sends "" while a document does not exist yet).
func (n Notificacion) Campos() Campos {
	v := n.Valores()
	return CamposNoVacios(v[:])
}

// CamposNoVacios is the set of the values (in the order of Valores and of
// TodosLosCampos.Nombres) that are present and not empty.
func CamposNoVacios(v []*string) Campos {
	var c Campos
	for i, s := range v {
		if s != nil && *s != "" {
			c |= 1 << i
		}
	}
	return c
}
