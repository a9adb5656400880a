package cli

import (
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

func TestLogBuffer(t *testing.T) {
	var out backendtest.Buffer
	b := newLogBuffer(&out)
	b.Write([]byte("one\n"))
	if out.String() != "" {
		t.Errorf("written through at once: %q", out.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "one\n" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if out.String() != "one\n" {
		t.Fatalf("not flushed within the interval: %q", out.String())
	}
	b.Write([]byte("two\n"))
	b.Close()
	if got := out.String(); !strings.HasSuffix(got, "two\n") {
		t.Errorf("Close did not flush: %q", got)
	}
}

// blockedWriter never finishes a write, as output to a full pipe or a hung
// disk would not.
type blockedWriter struct{ release chan struct{} }

func (w blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// Output that blocks cannot keep Close, and so the process, from ending.
func TestLogBufferCloseBounded(t *testing.T) {
	w := blockedWriter{make(chan struct{})}
	defer close(w.release)
	b := newLogBuffer(w)
	b.Write([]byte("one\n"))
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err == nil {
			t.Error("Close returned nil though its last lines were not written")
		}
	case <-time.After(10 * logCloseTimeout):
		t.Fatal("Close waited for output that blocks")
	}
}
