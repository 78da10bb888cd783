package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The console's error box says only what the console wrote: a link cannot put words in it.
func TestConsolaAvisos(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	const falso = "Su sesión caducó: llame al 999 888 777 y dicte su contraseña"
	for _, path := range []string{
		"/esperando?aviso=" + url.QueryEscape(falso),
		"/regularizaciones?aviso=" + url.QueryEscape(falso),
		"/pendientes?tipo=" + url.QueryEscape(falso),
		"/pendientes?plazo=" + url.QueryEscape(falso),
		"/buscar?q=" + url.QueryEscape(falso),
	} {
		body := c.get(path)
		if strings.Contains(body, "llame al 999") {
			t.Errorf("GET %s repeats the URL's words:\n%s", path, body)
		}
	}
	if body := c.get("/esperando?aviso=reenvio-desconocido"); strings.Contains(body, `class="error"`) {
		t.Errorf("an unknown code shows an error box:\n%s", body)
	}
	for path, want := range map[string]string{
		"/esperando?aviso=reenvio-fallido":                  "El reenvío falló",
		"/esperando?aviso=ya-no-aparcada":                   "ya no estaba esperando",
		"/regularizaciones?aviso=regularizar-no-disponible": "configure NUBEFACT_RUTA",
	} {
		if body := c.get(path); !strings.Contains(body, want) {
			t.Errorf("GET %s does not say %q", path, want)
		}
	}
	// Without NubeFacT, a regularization from the console leads back with its code.
	code, loc, _ := c.do(http.MethodPost, "/regularizar", url.Values{"plazo": {"critico"}}, true, nil)
	if code != http.StatusSeeOther || loc != "/regularizaciones?aviso=regularizar-no-disponible" {
		t.Errorf("regularize without NubeFacT: %d to %q, want 303 to /regularizaciones?aviso=regularizar-no-disponible", code, loc)
	}
}
