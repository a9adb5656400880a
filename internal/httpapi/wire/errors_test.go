package wire_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

// Describe finds an error's row by its code and resource, else by its code
// alone; it finds errors wrapped anywhere in the chain, and tells the
// faults to log apart from the answers that say it all.
func TestDescribe(t *testing.T) {
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		err    error
		status int
		fields wire.ErrorFields
		fault  wire.Fault
	}{
		{"own message", t.Context(), userdata.Errorf(userdata.CodeInvalid, "limit must not be less than 1"),
			400, wire.ErrorFields{Code: "E1017", Message: "limit must not be less than 1", DocURL: "d"}, wire.NoFault},
		{"by resource", t.Context(), fmt.Errorf("get: %w", userdata.NotFound(userdata.ResourceCompany)),
			404, wire.ErrorFields{Code: "E1002", Message: "Company not found", DocURL: "d"}, wire.NoFault},
		{"by code when no row names the resource", t.Context(), &userdata.Error{Code: userdata.CodeForbidden, Resource: userdata.ResourceUser},
			403, wire.ErrorFields{Code: "E1000", Message: "Invalid API key provided", DocURL: "d"}, wire.NoFault},
		{"not found of an unmapped resource", t.Context(), userdata.NotFound(userdata.ResourceKey),
			500, wire.ErrorFields{Code: "E0000", Message: "An unexpected error occurred", DocURL: "d"}, wire.FaultInternal},
		{"storage fault", t.Context(), fmt.Errorf("get: %w", userdata.Unavailable(errors.New("disk full"))),
			503, wire.ErrorFields{Code: "E0000", Message: "The service is temporarily unavailable; retry later", DocURL: "d"}, wire.FaultUnavailable},
		{"no domain error", t.Context(), errors.New("a bug"),
			500, wire.ErrorFields{Code: "E0000", Message: "An unexpected error occurred", DocURL: "d"}, wire.FaultInternal},
		{"issues", t.Context(), &userdata.Error{Code: userdata.CodeInvalid, Message: "m", Issues: []userdata.Issue{{Rule: "schema", Message: "x", Path: "k"}}},
			400, wire.ErrorFields{Code: "E1017", Message: "m", DocURL: "d", Issues: []wire.Issue{{Rule: "schema", Message: "x", Path: "k"}}}, wire.NoFault},
		{"detail after the row's message", t.Context(), userdata.MemberNotFound(userdata.ScopeUser, "bob"),
			404, wire.ErrorFields{Code: "E1001", Message: `User not found — this is a USER segment, and externalId "bob" does not exist among users in this environment (to manage a company, target a company segment)`, DocURL: "d"}, wire.NoFault},
		{"built-in segment", t.Context(), userdata.ErrBuiltInSegment,
			409, wire.ErrorFields{Code: "E1037", Message: `The built-in "all" segment cannot be modified or deleted — create a condition segment if you need a filtered audience.`, DocURL: "d"}, wire.NoFault},
		{"webhook not found", t.Context(), userdata.NotFound(userdata.ResourceWebhook),
			404, wire.ErrorFields{Code: "E0061", Message: "Webhook not found.", DocURL: "d"}, wire.NoFault},
		{"refused URL", t.Context(), &userdata.Error{Code: userdata.CodeRefusedURL, Message: "url refused", Detail: "127.0.0.1 is a loopback address"},
			400, wire.ErrorFields{Code: "E0054", Message: "This URL must be a publicly reachable HTTP(S) address — 127.0.0.1 is a loopback address", DocURL: "d"}, wire.NoFault},
		{"v2 code with the domain's message", t.Context(), userdata.Errorf(userdata.CodeMissingCapability, "needs user:read"),
			403, wire.ErrorFields{Code: "E1012", Message: "needs user:read", DocURL: "d"}, wire.NoFault},
		{"client gone", gone, fmt.Errorf("get: %w", gone.Err()),
			499, wire.ErrorFields{Code: "E0000", Message: "An unexpected error occurred", DocURL: "d"}, wire.NoFault},
	} {
		status, fields, fault := wire.Describe(tt.ctx, tt.err, "d")
		if status != tt.status || !reflect.DeepEqual(fields, tt.fields) || fault != tt.fault {
			t.Errorf("%s: Describe(%v) = %d, %+v, %v; want %d, %+v, %v", tt.name, tt.err, status, fields, fault, tt.status, tt.fields, tt.fault)
		}
	}
}

// WriteError sends the envelope, with Retry-After on a 503 only.
func TestWriteError(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusServiceUnavailable} {
		rec := httptest.NewRecorder()
		wire.WriteError(rec, status, wire.ErrorFields{Code: "E0000", Message: "m", DocURL: "d"})
		want := `{"error":{"code":"E0000","message":"m","doc_url":"d"}}` + "\n"
		if rec.Code != status || rec.Body.String() != want {
			t.Errorf("status %d: got %d %q, want %q", status, rec.Code, rec.Body, want)
		}
		if ra := rec.Header().Get("Retry-After"); (status == http.StatusServiceUnavailable) != (ra == "1") {
			t.Errorf("status %d: Retry-After %q", status, ra)
		}
	}
}
