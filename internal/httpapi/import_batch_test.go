package httpapi

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// An import holds at most importBatchBytes of lines before it applies
// them, however long the lines, and fills each batch up to its bounds.
func TestImportBatchBytes(t *testing.T) {
	var sent []string
	var body strings.Builder
	for i := range 120 {
		size := 50 + (i*7919)%(wire.MaxBody-50) // from short lines to 1 MiB ones
		if i%5 == 0 {
			size = wire.MaxBody
		}
		l := fmt.Sprintf("%d:", i)
		l += strings.Repeat("x", size-len(l))
		sent = append(sent, l)
		body.WriteString(l + "\n")
	}
	for i := range 1200 { // short lines: bounded by count
		sent = append(sent, fmt.Sprint(i))
		body.WriteString(fmt.Sprint(i) + "\n")
	}
	var batches [][]string
	apply := func(_ context.Context, _ userdata.Tenant, items []string) []userdata.ImportResult {
		batches = append(batches, append([]string(nil), items...))
		return make([]userdata.ImportResult, len(items))
	}
	decode := func(line []byte) (string, error) { return string(line), nil }
	s := New(nil, backendtest.Discard, "")
	status, out, err := importStream(s, httptest.NewRequest("POST", "/v1/users/import", strings.NewReader(body.String())), userdata.Tenant{}, decode, apply)
	if err != nil || status != 200 || out.(*importJSON).Updated != len(sent) {
		t.Fatalf("import: %d %+v %v", status, out, err)
	}
	var applied []string
	for i, b := range batches {
		size := 0
		for _, item := range b {
			size += len(item)
		}
		if size > importBatchBytes || len(b) > importBatch {
			t.Errorf("batch %d holds %d lines, %d bytes: more than %d lines or %d bytes", i, len(b), size, importBatch, importBatchBytes)
		}
		if i < len(batches)-1 && len(b) < importBatch && size+len(batches[i+1][0]) <= importBatchBytes {
			t.Errorf("batch %d (%d lines, %d bytes) was applied before it was full", i, len(b), size)
		}
		applied = append(applied, b...)
	}
	if len(applied) != len(sent) {
		t.Fatalf("%d lines applied, want %d", len(applied), len(sent))
	}
	for i := range sent {
		if applied[i] != sent[i] {
			t.Fatalf("line %d applied out of order", i+1)
		}
	}
}
