// The README's Code map names every production package of the workspace, and names nothing that
// is not one: a package added, moved or removed without the map following fails here.
package system_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// codeMapPackages returns the package paths (relative to the repository) that the rows of the
// README's Code map table ("package | owns") name in their first column.
func codeMapPackages(t *testing.T, readme string) []string {
	t.Helper()
	_, section, ok := strings.Cut(readme, "\n## Code map\n")
	if !ok {
		t.Fatal("README.md has no \"## Code map\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	code := regexp.MustCompile("`([^`]+)`")
	var named []string
	inTable := false
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			inTable = false
			continue
		}
		switch first := strings.TrimSpace(cells[1]); {
		case first == "package" && strings.TrimSpace(cells[2]) == "owns":
			inTable = true
			continue
		case !inTable || strings.HasPrefix(first, "---"):
			continue
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			named = append(named, strings.TrimSuffix(m[1], "/"))
		}
	}
	if len(named) == 0 {
		t.Fatal("the Code map table names no package")
	}
	return named
}

func TestCodeMapNamesEveryProductionPackage(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := codeMapPackages(t, string(readme))
	cmd := exec.Command(goBin, "list", "-f", "{{if .GoFiles}}{{.ImportPath}}{{end}}",
		"./contracts/...", "./ingest/...", "./reconciler/...", "./system/...", "./system/testkit/...")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var packages []string
	for p := range strings.FieldsSeq(string(out)) {
		packages = append(packages, strings.TrimPrefix(p, module))
	}
	for _, p := range packages {
		if !slices.Contains(named, p) {
			t.Errorf("production package %s is not in the README's Code map", p)
		}
	}
	for _, n := range named {
		if !slices.Contains(packages, n) {
			t.Errorf("the README's Code map names %s, which is not a production package", n)
		}
	}
}
