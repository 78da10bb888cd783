package system_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPrometheusRules checks deploy/prometheus with promtool: the configuration, the alert rules,
// and the rules' unit tests (alerts_test.yml). promtool comes from Debian's prometheus package,
// which .ci/run installs; without it the test is skipped, except under CI.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (apt-get install prometheus)")
		}
		t.Skip("promtool is not installed: apt-get install prometheus to check deploy/prometheus")
	}
	dir, err := filepath.Abs(filepath.Join("..", "deploy", "prometheus"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}
