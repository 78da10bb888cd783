package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hotelpe/boletas/contracts/httpapi"
)

// The profiler has no authentication: only loopback, unless PPROF_ALLOW_REMOTE says otherwise.
func TestCheckPprofAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"", false, true},
		{"127.0.0.1:6061", false, true},
		{"127.10.0.1:6061", false, true},
		{"[::1]:6061", false, true},
		{"localhost:6061", false, true},
		{":6061", false, false},
		{"0.0.0.0:6061", false, false},
		{"[::]:6061", false, false},
		{"10.0.0.5:6061", false, false},
		{"hotel.example:6061", false, false},
		{"127.0.0.1", false, false},
		{":6061", true, true},
		{"10.0.0.5:6061", true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s allow remote %v", tt.addr, tt.allowRemote), func(t *testing.T) {
			t.Parallel()
			err := httpapi.CheckPprofAddr(tt.addr, tt.allowRemote)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckPprofAddr(%q, %v) = %v, want ok %v", tt.addr, tt.allowRemote, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "PPROF_ADDR") {
				t.Errorf("error %q does not name PPROF_ADDR", err)
			}
		})
	}
}
