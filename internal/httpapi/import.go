package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// importBatch and importBatchBytes bound a batch, the valid lines that go
// to the store at once: at most importBatch lines and importBatchBytes of
// line text. The byte bound keeps an import of long lines (up to 1 MiB
// each) from holding hundreds of megabytes of decoded lines.
const (
	importBatch      = 500
	importBatchBytes = 8 << 20
)

// maxImportErrors bounds the errors an import reports.
const maxImportErrors = 100

// importJSON is the answer of an import (§15.3).
type importJSON struct {
	Object  string            `json:"object"`
	Created int               `json:"created"`
	Updated int               `json:"updated"`
	Failed  int               `json:"failed"`
	Errors  []importErrorJSON `json:"errors"`
}

type importErrorJSON struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) importUsers(r *http.Request, t userdata.Tenant) (int, any, error) {
	return importStream(s, r, t, decodeUserUpsert, s.store.ImportUsers)
}

func (s *Server) importCompanies(r *http.Request, t userdata.Tenant) (int, any, error) {
	return importStream(s, r, t, decodeCompanyUpsert, s.store.ImportCompanies)
}

// importStream reads an NDJSON body line by line: blank lines are skipped,
// a line that fails decoding or validation is reported and skipped, and
// the valid lines are applied in order, in batches (see importBatch).
func importStream[T any](s *Server, r *http.Request, t userdata.Tenant, decode func([]byte) (T, error),
	apply func(context.Context, userdata.Tenant, []T) []userdata.ImportResult) (int, any, error) {
	out := &importJSON{Object: "import", Errors: []importErrorJSON{}}
	var b batch[T]
	// Lines read whole are applied even if the client has gone: when the
	// stream breaks, exactly the lines before the break are applied.
	ctx := context.WithoutCancel(r.Context())
	// unavailable is the first line the storage could not serve: the
	// import stops after that line's batch instead of sending the rest,
	// line by line, to a database that is down.
	unavailable, appliedTo := 0, 0
	flush := func() {
		appliedTo = b.lines[len(b.lines)-1]
		for i, res := range apply(ctx, t, b.items) {
			switch {
			case res.Err != nil:
				if unavailable == 0 && userdata.ErrorCode(res.Err) == userdata.CodeUnavailable {
					unavailable = b.lines[i]
				}
				out.fail(s, r, b.lines[i], res.Err)
			case res.Created:
				out.Created++
			default:
				out.Updated++
			}
		}
		b.reset()
	}
	br := bufio.NewReaderSize(r.Body, 64<<10)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, wire.MaxBody)
		if err != nil && !errors.Is(err, io.EOF) {
			// The stream broke, or the server stops: apply the lines read
			// whole before, so that exactly those before line n are
			// applied, and say so.
			if len(b.items) > 0 {
				flush()
			}
			return 0, nil, streamBroken(err, n, out)
		}
		switch {
		case tooLong:
			out.fail(s, r, n, &userdata.Error{Code: userdata.CodeTooLarge})
		case len(bytes.TrimSpace(line)) > 0:
			if item, derr := decode(line); derr != nil {
				out.fail(s, r, n, derr)
			} else {
				if b.bytes+len(line) > importBatchBytes {
					flush()
				}
				b.add(item, n, len(line))
			}
		}
		if len(b.items) >= importBatch || (errors.Is(err, io.EOF) && len(b.items) > 0) {
			flush()
		}
		if unavailable > 0 {
			return 0, nil, userdata.Errorf(userdata.CodeStopped,
				"the database became unavailable at line %d: the lines up to line %d were applied or failed as counted "+
					"(%d created, %d updated, %d failed) and none after it; send the lines from %d on again",
				unavailable, appliedTo, out.Created, out.Updated, out.Failed, unavailable)
		}
		if errors.Is(err, io.EOF) {
			return http.StatusOK, out, nil
		}
	}
}

// batch is the valid lines of an import waiting to be applied: the
// decoded items, their line numbers, and the length of their text.
type batch[T any] struct {
	items []T
	lines []int
	bytes int
}

func (b *batch[T]) add(item T, line, size int) {
	b.items, b.lines, b.bytes = append(b.items, item), append(b.lines, line), b.bytes+size
}

// reset empties the batch, dropping its items so that they can be freed.
func (b *batch[T]) reset() {
	clear(b.items)
	b.items, b.lines, b.bytes = b.items[:0], b.lines[:0], 0
}

// streamBroken is the error of an import whose body could not be read at
// line n: when the server stops (errStopped), 503 with Retry-After, else
// 400. Either way the message says where reading stopped and what was
// done before.
func streamBroken(err error, n int, out *importJSON) error {
	const done = "the lines before it were applied (%d created, %d updated, %d failed) and none after it"
	if errors.Is(err, errStopped) {
		return userdata.Errorf(userdata.CodeStopped,
			"the server is shutting down and stopped reading the request body at line %d; "+done+"; send the rest again",
			n, out.Created, out.Updated, out.Failed)
	}
	return userdata.Errorf(userdata.CodeInvalid, "could not read the request body at line %d; "+done,
		n, out.Created, out.Updated, out.Failed)
}

// fail counts a failed line and reports it: Errors keeps, in line order,
// the maxImportErrors failed lines with the lowest numbers. A line the
// store refuses is reported when its batch is applied, after later lines
// of the batch that failed decoding.
func (o *importJSON) fail(s *Server, r *http.Request, line int, err error) {
	o.Failed++
	i := len(o.Errors)
	for i > 0 && o.Errors[i-1].Line > line {
		i--
	}
	if i >= maxImportErrors {
		return
	}
	_, f := s.describe(r, err)
	o.Errors = slices.Insert(o.Errors, i, importErrorJSON{line, f.Code, f.Message})
	if len(o.Errors) > maxImportErrors {
		o.Errors = o.Errors[:maxImportErrors]
	}
}

// readLine reads one line without its newline. A line longer than max is
// read to its end and dropped: tooLong reports it. err is io.EOF after the
// last line.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), tooLong, err
	}
}
