package cli

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// logFlushInterval is the longest a log line waits in the buffer.
const logFlushInterval = 100 * time.Millisecond

// logCloseTimeout bounds how long Close waits for the last lines to be
// written: output that blocks (a full pipe, a hung disk) must not keep the
// process from exiting.
const logCloseTimeout = time.Second

// logBuffer batches log output: under load the server writes one line per
// request, and one write(2) per line would cost as much as serving a
// cached read. Lines reach the underlying writer within logFlushInterval,
// and at Close.
type logBuffer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newLogBuffer(w io.Writer) *logBuffer {
	b := &logBuffer{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flusher()
	return b
}

// Write buffers p.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

func (b *logBuffer) flush() {
	b.mu.Lock()
	b.w.Flush()
	b.mu.Unlock()
}

func (b *logBuffer) flusher() {
	defer close(b.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.flush()
		case <-b.stop:
			b.flush()
			return
		}
	}
}

// Close flushes what is buffered and stops the flusher. If the output
// blocks for logCloseTimeout, it returns an error and leaves the last
// lines unwritten.
func (b *logBuffer) Close() error {
	close(b.stop)
	t := time.NewTimer(logCloseTimeout)
	defer t.Stop()
	select {
	case <-b.done:
		return nil
	case <-t.C:
		return errors.New("log output blocked: the last log lines were not written")
	}
}
