// The Code map's import rules (README.md), checked with go list on the whole workspace.
package system_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/hotelpe/boletas/"

// deps returns the packages pattern's production packages import, directly or not (go list -deps:
// test files are not read).
func deps(t *testing.T, patterns ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, patterns...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %v: %v\n%s", patterns, err, out)
	}
	return strings.Fields(string(out))
}

func TestServicesImportNeitherEachOtherNorTestTooling(t *testing.T) {
	forbidden := map[string][]string{
		module + "ingest/...":     {module + "reconciler", module + "system", "github.com/testcontainers/testcontainers-go", "testing"},
		module + "reconciler/...": {module + "ingest", module + "system", "github.com/testcontainers/testcontainers-go", "testing"},
	}
	for pattern, prefixes := range forbidden {
		for _, p := range deps(t, pattern) {
			for _, prefix := range prefixes {
				if p == prefix || strings.HasPrefix(p, prefix+"/") {
					t.Errorf("a production package of %s imports %s", pattern, p)
				}
			}
		}
	}
}

func TestAdaptersAndDomainImportNoOtherLayerOfOurs(t *testing.T) {
	adapters := []string{"reconciler/regularizacion", "reconciler/postgres", "reconciler/stream", "reconciler/nubefact"}
	allowed := func(pkg string) []string {
		// Every package may import contracts and the domain; the internal helpers are plumbing.
		return []string{pkg, "contracts", "contracts/httpapi", "reconciler/estado", "contracts/retry", "reconciler/internal/rate"}
	}
	check := func(pkg string, ok []string) {
		for _, p := range deps(t, module+pkg) {
			ours, isOurs := strings.CutPrefix(p, module)
			if isOurs && !slices.Contains(ok, ours) {
				t.Errorf("%s imports %s", pkg, p)
			}
		}
	}
	for _, a := range adapters {
		check(a, allowed(a))
	}
	check("reconciler/estado", []string{"reconciler/estado", "contracts"})
	check("contracts", []string{"contracts"})
}
