package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hotelpe/boletas/reconciler"
	"github.com/hotelpe/boletas/reconciler/console"
)

// Not parallel: it replaces stdin.
func TestConsoleUser(t *testing.T) {
	defer func(r io.Reader) { stdin = r }(stdin)
	const secreto = "una-clave-bastante-larga"
	stdin = strings.NewReader(secreto + "\n")
	var out, errOut strings.Builder
	if err := Ejecutar(context.Background(), reconciler.Config{}, []string{"console-user", "ana"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String()+errOut.String(), secreto) {
		t.Error("the password was printed")
	}
	u, err := console.ParseUsuarios(strings.TrimSpace(out.String()))
	if err != nil || !u.Valido("ana", secreto, time.Now()) || u.Valido("ana", "otra-clave-bastante-larga", time.Now()) {
		t.Errorf("the printed entry %q does not check the password (%v)", out.String(), err)
	}
	for _, tt := range []struct{ args, password, want string }{
		{"console-user ana", "corta", "12 characters"},
		{"console-user a:b", secreto, "':'"},
		{"console-user", secreto, "one NAME"},
	} {
		stdin = strings.NewReader(tt.password + "\n")
		err := Ejecutar(context.Background(), reconciler.Config{}, strings.Fields(tt.args), &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %s", tt.args, err, tt.want)
		}
	}
}
