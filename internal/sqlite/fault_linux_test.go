package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A full disk (a real one: a small tmpfs) makes writes and /readyz answer
// 503 while reads go on; once space is freed, writes succeed and /readyz
// answers 200 again.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatalf("mount a 4 MiB tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		// Detached: the closed store's key marker stays mapped until it
		// is garbage (see keyMarker).
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	s := openExclusive(t, filepath.Join(dir, "tourd.db"))
	call := api(t, s)
	want(t, 201, call, "POST", "/v1/users", `{"id":"u0"}`)

	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err = filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
	big := `{"id":"u1","attributes":{"bio":"` + strings.Repeat("x", 200<<10) + `"}}`
	want(t, 503, call, "POST", "/v1/users", big)
	want(t, 503, call, "GET", "/readyz", "")
	want(t, 200, call, "GET", "/v1/users/u0", "")

	if err := os.Remove(filler.Name()); err != nil {
		t.Fatal(err)
	}
	want(t, 201, call, "POST", "/v1/users", big)
	want(t, 200, call, "GET", "/readyz", "")
}
