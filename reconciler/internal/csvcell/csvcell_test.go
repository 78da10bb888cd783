package csvcell_test

import (
	"testing"

	"github.com/hotelpe/boletas/reconciler/internal/csvcell"
)

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"codigo 24": "codigo 24", "=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2",
		"@SUM(A1)": "'@SUM(A1)", "": "",
	} {
		if got := csvcell.Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}
