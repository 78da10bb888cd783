package console_test

import (
	"net/http"
	"strings"
	"testing"
)

// A key outside SUNAT's ranges names no comprobante: 404, never a query that fails (a numero
// past Postgres's integer used to answer 500).
func TestConsolaClaveFueraDeRango(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	c.emitida("BBB1", 105, 0)
	for _, clave := range []string{
		"2-BBB1-99999999999", // past int4
		"2-BBB1-100000000",   // 9 digits
		"2-BBB1-0",           // numero starts at 1
		"2-BBB1--5",          // negative
		"0-BBB1-105",         // tipo 1 to 4
		"5-BBB1-105",         // tipo 1 to 4
		"99999999999-BBB1-1", // tipo past every integer type the table has
		"2-BBB12-105",        // serie of 5
		"2-BB-105",           // serie of 2
		"2-FFF1-105",         // a boleta's serie starts with B (or 0)
		"1-BBB1-105",         // a factura's with F (or 0)
		"2-B%C3%91B1-105",    // not A-Z0-9
		"2-BBB1-105-1",       // four parts
		"2-BBB1-1e3",         // not an integer
	} {
		if code, _, body := c.do(http.MethodGet, "/comprobantes/"+clave, nil, true, nil); code != http.StatusNotFound {
			t.Errorf("GET /comprobantes/%s: %d, want 404\n%s", clave, code, body)
		}
	}
	if body := c.get("/comprobantes/2-bbb1-105"); !strings.Contains(body, "2-BBB1-105") {
		t.Errorf("a valid key in lower case does not lead to its comprobante")
	}
	// The search box says what is wrong instead of redirecting to a 404 (or a 500).
	code, loc, body := c.do(http.MethodGet, "/buscar?q=2-BBB1-99999999999", nil, true, nil)
	if code != http.StatusOK || loc != "" || !strings.Contains(body, "no es una clave de comprobante") {
		t.Errorf("search for a key out of range: %d to %q, want 200 with an explanation", code, loc)
	}
}
