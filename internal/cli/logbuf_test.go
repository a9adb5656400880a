package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flusher goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogBuffer(t *testing.T) {
	var out lockedBuffer
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
