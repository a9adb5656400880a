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
