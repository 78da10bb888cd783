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

// The console and each job of the reconciler import the domain, contracts and the shared
// plumbing only: the adapters (Postgres, JetStream, NubeFacT) reach them through the interfaces
// they declare, handed over by Run; and no job imports another (verificacion is the one step two
// jobs share; programada schedules the regularizacion use case).
func TestJobsAndConsoleImportNoAdapter(t *testing.T) {
	base := []string{"contracts", "contracts/httpapi", "contracts/retry", "reconciler/estado", "reconciler/internal/rate"}
	extra := map[string][]string{
		"reconciler/console":               {"reconciler/internal/csvcell"},
		"reconciler/internal/worker":       {"reconciler/internal/verificacion"},
		"reconciler/internal/aparcadas":    {"reconciler/internal/verificacion"},
		"reconciler/internal/programada":   {"reconciler/regularizacion", "reconciler/internal/csvcell"},
		"reconciler/internal/relay":        nil,
		"reconciler/internal/metrics":      nil,
		"reconciler/internal/reenvio":      nil,
		"reconciler/internal/verificacion": nil,
	}
	for pkg, more := range extra {
		ok := append(append([]string{pkg}, base...), more...)
		for _, p := range deps(t, module+pkg) {
			if ours, isOurs := strings.CutPrefix(p, module); isOurs && !slices.Contains(ok, ours) {
				t.Errorf("%s imports %s", pkg, p)
			}
		}
	}
}
