package postgres_test

import (
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts"
)

func TestAuditoriaSoloAnexable(t *testing.T) {
	t.Parallel()
	s, pool := nuevoStore(t)
	pendiente(t, pool, 2, "BBB1", 105)
	// Row triggers fire only on rows: the audit needs one for UPDATE and DELETE to be refused.
	aplicar(t, s, contracts.Topologia{}, entrada(t, []byte(semilla)))
	antes := foto(t, pool)

	for _, sql := range []string{
		`UPDATE notificaciones SET efecto = 'conflicto'`,
		`DELETE FROM notificaciones`,
		`TRUNCATE notificaciones`,
	} {
		t.Run(strings.Fields(sql)[0], func(t *testing.T) {
			_, err := pool.Exec(t.Context(), sql)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: error = %v, want the append-only refusal", sql, err)
			}
		})
	}
	mismaFoto(t, antes, foto(t, pool))
}
