package cli_test

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the repository's root, from this package's directory.
var repoRoot = filepath.Join("..", "..")

// testVersion is the version the tests link into the binary, as
// docker build --build-arg VERSION=... does.
const testVersion = "v0.0.0-test+packaging"

// buildAsDocker builds cmd/tourd to out with the go build command of the
// Dockerfile's build stage, run as docker build runs it (sh -c, in the
// source directory, with VERSION set), so that the tests check the command
// the image is built with.
func buildAsDocker(out string) error {
	df, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		return err
	}
	var build string
	for l := range strings.Lines(string(df)) {
		if cmd, ok := strings.CutPrefix(strings.TrimSpace(l), "RUN "); ok && strings.Contains(" "+cmd, " go build ") {
			build = cmd
		}
	}
	const dest = " -o /out/tourd "
	if !strings.Contains(build, dest) {
		return errors.New("the Dockerfile has no one-line RUN ... go build ..." + dest + "...")
	}
	cmd := exec.Command("sh", "-c", strings.Replace(build, dest, " -o '"+out+"' ", 1))
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "VERSION="+testVersion)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// TestDockerBuild checks the binary the Dockerfile's build command makes:
// static (it must run on distroless/static, which has no C library), with
// the version linked in.
func TestDockerBuild(t *testing.T) {
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is not static", p.Type)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	lines := strings.Split(tourd(t, "version"), "\n")
	if len(lines) != 4 || lines[0] != "tourd "+testVersion || lines[1] != "go: "+runtime.Version() || !strings.HasPrefix(lines[2], "revision: ") {
		t.Errorf("tourd version printed %q, want tourd %s, go: %s and a revision", lines, testVersion, runtime.Version())
	}
}
