package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSystemdUnit checks deploy/tourd.service: systemd waits longer than
// serve's shutdown bound before it kills tourd, and systemd-analyze verify
// (when installed) finds nothing to say about the unit.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "deploy", "tourd.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\S+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit sets no TimeoutStopSec")
	}
	if d, err := time.ParseDuration(string(m[1])); err != nil || d <= defaultShutdownTimeout {
		t.Errorf("TimeoutStopSec=%s (%v), want more than the shutdown bound, %v", m[1], err, defaultShutdownTimeout)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified")
	}
	// verify wants ExecStart to name an executable that exists: this test
	// binary stands in for /usr/local/bin/tourd.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const execStart = "\nExecStart=/usr/local/bin/tourd serve\n"
	if !strings.Contains(string(unit), execStart) {
		t.Fatalf("the unit has no line %q", strings.TrimSpace(execStart))
	}
	path := filepath.Join(t.TempDir(), "tourd.service")
	text := strings.Replace(string(unit), execStart, "\nExecStart="+exe+" serve\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify exits 0 on unknown keys and bad values, which it only warns
	// about: any output is a failure.
	if out, err := exec.CommandContext(t.Context(), analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
