package console

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hotelpe/boletas/contracts"
	"github.com/hotelpe/boletas/reconciler/estado"
)

// How the pages show values: the templates' functions and what the handlers share.

// lima shows an instant (a time.Time or a *time.Time) in Lima, "" for none.
func lima(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.In(estado.Lima).Format("2006-01-02 15:04:05")
	case *time.Time:
		if v == nil {
			return ""
		}
		return lima(*v)
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// https returns link only if it is an https URL: anything else is not shown as a link.
func https(link *string) string {
	if link == nil {
		return ""
	}
	u, err := url.Parse(*link)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return *link
}

// nombresTipo are the tipos as the pages name them.
var nombresTipo = map[contracts.Tipo]string{
	contracts.Factura:       "factura",
	contracts.Boleta:        "boleta",
	contracts.NotaDeCredito: "nota de crédito",
	contracts.NotaDeDebito:  "nota de débito",
}

// nombreTipo is the name of tipo_de_comprobante tipo, or its number when it is none of the four.
func nombreTipo(tipo int) string {
	if n, ok := nombresTipo[contracts.Tipo(tipo)]; ok {
		return n
	}
	return strconv.Itoa(tipo)
}

// bonito pretty-prints a JSON payload (html/template escapes it when rendered).
func bonito(payload string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(payload), "", "  ") != nil {
		return payload
	}
	return b.String()
}

// recortar cuts s to at most n bytes of valid UTF-8, for showing text from outside (a user
// name from the client, a dead letter's payload): a character cut in two becomes "?".
func recortar(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}
