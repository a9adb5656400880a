package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden with the current output")

// goldenDir holds the exact bytes of each response body, one file per case.
var goldenDir = filepath.Join("testdata", "golden")

// checkGolden compares got with the golden file name, or rewrites the file
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestGolden -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the body differs from %s (go test -run TestGolden -update rewrites it after review)\n got: %s\nwant: %s", path, got, want)
	}
}

// goldenAttributes stores raw as a create would: decoded as from a request
// body, then encoded for storage. Stores keep and return these bytes.
func goldenAttributes(t *testing.T, raw string) json.RawMessage {
	t.Helper()
	a, err := userdata.DecodeAttributes([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Create(nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenTime parses an RFC 3339 time; stored times may carry more than
// milliseconds, and any zone.
func goldenTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// goldenCase writes one response.
type goldenCase struct {
	name   string
	status int
	write  func(w http.ResponseWriter)
}

func goldenCases(t *testing.T) []goldenCase {
	// Attribute values that encoders get wrong: numbers as JavaScript
	// prints doubles, escapes, non-ASCII text, the line separators that
	// encoding/json escapes, HTML characters it must not escape, nesting,
	// null, empty objects and lists.
	tricky := goldenAttributes(t, `{"plan":"pro","seats":12,"huge":1e21,"big":12345678901234567890,"e20":1e20,
		"tiny":1e-7,"small":0.000001,"neg0":-0,"third":0.3333333333333333,"max":1.7976931348623157e308,"min":5e-324,"negative":-2.5,
		"text":"é ü 中文 😀","escapes":"quote \" backslash \\ slash / tab \t newline \n \u0001 \u001f \u007f",
		"html":"<b>&amp;</b>","separators":"\u2028\u2029","nested":{"z":{"deep":[1,"two",null,true,{"k":[]}]},"a":{}},
		"empty_list":[],"empty_object":{},"null_in_list":[null],"flag":false,"gone":null}`)
	seeded := goldenAttributes(t, `{"first_seen_at":"2025-05-01T10:00:00.004Z","last_seen_at":"2025-05-01T10:00:00.004Z","name":"Acme Inc."}`)
	role := goldenAttributes(t, `{"role":"admin","since":2019}`)
	empty := goldenAttributes(t, `{}`)
	created := goldenTime(t, "2025-05-01T10:00:00.004999999Z") // milliseconds are truncated
	zoned := goldenTime(t, "2025-05-04T14:51:10.881+02:00")    // printed in UTC

	user := func() *userdata.User {
		return &userdata.User{ID: "cmuser000000000000000000a", ExternalID: `usr_"quoted"\back/slash é 😀 <tag>`, Attributes: tricky, CreatedAt: created}
	}
	acme := func() *userdata.Company {
		return &userdata.Company{ID: "cmcompany0000000000000000", ExternalID: "acme", Attributes: seeded, CreatedAt: zoned}
	}
	membership := func() *userdata.Membership {
		return &userdata.Membership{ID: "cmmembership0000000000000", UserID: "cmuser000000000000000000a", CompanyID: "cmcompany0000000000000000", Attributes: role, CreatedAt: zoned}
	}
	send := func(status int, v any) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { wire.WriteJSON(w, status, v) }
	}
	userCase := func(name string, expand func(u *userdata.User)) goldenCase {
		u := user()
		expand(u)
		ju := wire.NewUser(u)
		return goldenCase{name, http.StatusOK, send(http.StatusOK, &ju)}
	}
	companyCase := func(name string, expand func(c *userdata.Company)) goldenCase {
		c := acme()
		expand(c)
		jc := wire.NewCompany(c)
		return goldenCase{name, http.StatusOK, send(http.StatusOK, &jc)}
	}
	page := func(rawURL string, items any, l *userdata.List[int], limit int, expandable bool) func(http.ResponseWriter) {
		r := httptest.NewRequest("GET", rawURL, nil)
		q, err := wire.ParseQuery(r.URL.RawQuery)
		if err != nil {
			t.Fatal(err)
		}
		return send(http.StatusOK, wire.NewList(r, q, items, l, limit, expandable))
	}
	s := New(nil, backendtest.Discard, "")
	custom := New(nil, backendtest.Discard, "https://docs.example.com/tourd?a=1&b=<2>")
	fail := func(s *Server, err error) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { s.writeError(w, httptest.NewRequest("GET", "/v1/users", nil), err) }
	}

	return []goldenCase{
		userCase("user", func(*userdata.User) {}),
		userCase("user_expand_companies_none", func(u *userdata.User) { u.Companies = []*userdata.Company{} }),
		userCase("user_expand_companies", func(u *userdata.User) {
			globex := &userdata.Company{ID: "cmglobex", ExternalID: "globex", Attributes: empty, CreatedAt: created}
			u.Companies = []*userdata.Company{acme(), globex}
		}),
		userCase("user_expand_memberships", func(u *userdata.User) { u.Memberships = []*userdata.Membership{membership()} }),
		userCase("user_expand_memberships_company", func(u *userdata.User) {
			m := membership()
			m.Company = acme()
			u.Companies, u.Memberships = []*userdata.Company{acme()}, []*userdata.Membership{m}
		}),
		companyCase("company", func(*userdata.Company) {}),
		companyCase("company_expand_users", func(c *userdata.Company) { c.Users = []*userdata.User{user()} }),
		companyCase("company_expand_memberships_user", func(c *userdata.Company) {
			m := membership()
			m.User = user()
			c.Users, c.Memberships = []*userdata.User{}, []*userdata.Membership{m}
		}),
		{"membership", http.StatusOK, func(w http.ResponseWriter) {
			jm := wire.NewMembership(membership())
			wire.WriteJSON(w, http.StatusOK, &jm)
		}},
		{"user_list", http.StatusOK, page("/v1/users?limit=2&expand[]=companies&expand=memberships.company&email=a%2Bb%40example.com&cursor=cmold",
			wire.MapItems([]*userdata.User{user(), {ID: "cmuser2", ExternalID: "usr_2", Attributes: empty, CreatedAt: created}}, wire.NewUser),
			&userdata.List[int]{NextCursor: "cmuser2", Prev: userdata.PrevCursor, PrevCursor: "cmbefore"}, 2, true)},
		{"user_list_first_page_plain_expand", http.StatusOK, page("/v1/users?expand=companies&orderBy=-createdAt",
			wire.MapItems([]*userdata.User{{ID: "cmuser2", ExternalID: "usr_2", Attributes: empty, CreatedAt: created, Companies: []*userdata.Company{}}}, wire.NewUser),
			&userdata.List[int]{NextCursor: "cmuser2"}, 20, true)},
		{"company_list_empty", http.StatusOK, page("/v1/companies", wire.MapItems([]*userdata.Company{}, wire.NewCompany), &userdata.List[int]{}, 20, true)},
		{"company_list_last_page", http.StatusOK, page("/v1/companies?cursor=cmx&limit=1&expand=users,memberships.user",
			wire.MapItems([]*userdata.Company{acme()}, wire.NewCompany), &userdata.List[int]{Prev: userdata.PrevFirstPage}, 1, true)},
		{"attribute_definition_list", http.StatusOK, page("/v1/attribute-definitions?scope=user&eventName=a,b&limit=1",
			wire.MapItems([]*userdata.AttributeDefinition{{ID: "cmdef", Scope: userdata.ScopeUser, CodeName: "signed_up_at", DisplayName: "Signed Up", DataType: userdata.DataTypeDatetime, CreatedAt: zoned}}, wire.NewAttributeDefinition),
			&userdata.List[int]{NextCursor: "cmdef"}, 1, false)},
		{"event_definition_list", http.StatusOK, page("/v1/event-definitions",
			wire.MapItems([]*userdata.EventDefinition{{ID: "cmevdef", CodeName: "flow_step_seen", DisplayName: "Flow Step Seen", Description: "A \"step\"", CreatedAt: zoned}}, wire.NewEventDefinition),
			&userdata.List[int]{}, 20, false)},
		{"event_list", http.StatusOK, page("/v1/events?userId=usr_1",
			wire.MapItems([]*userdata.Event{
				{ID: "cmev2", Name: "report_exported", UserID: "usr_1", Attributes: empty, CreatedAt: created},
				{ID: "cmev1", Name: "flow_step_seen", UserID: "usr_1", CompanyID: "acme", Attributes: goldenAttributes(t, `{"flow_step_number":2,"ratio":1e-7}`), CreatedAt: goldenTime(t, "0001-01-01T00:00:00Z")},
			}, wire.NewEvent), &userdata.List[int]{}, 20, false)},
		{"deleted", http.StatusOK, send(http.StatusOK, deletedJSON{`a/b "c"`, "user", true})},
		{"import", http.StatusOK, send(http.StatusOK, &importJSON{Object: "import", Created: 2, Updated: 1, Failed: 2, Errors: []importErrorJSON{
			{3, "E1017", `attributes key "é" must be at most 255 bytes`}, {4, "E1018", "Request body too large"}}})},
		{"import_clean", http.StatusOK, send(http.StatusOK, &importJSON{Object: "import", Created: 1, Errors: []importErrorJSON{}})},
		{"error_validation", http.StatusBadRequest, fail(s, userdata.Errorf(userdata.CodeInvalid, `companies.0.id must be a non-empty string, not "<é>"`))},
		{"error_cursor", http.StatusBadRequest, fail(s, &userdata.Error{Code: userdata.CodeInvalidCursor})},
		{"error_unauthorized", http.StatusUnauthorized, fail(s, &userdata.Error{Code: userdata.CodeUnauthorized})},
		{"error_forbidden", http.StatusForbidden, fail(s, &userdata.Error{Code: userdata.CodeForbidden})},
		{"error_user_not_found", http.StatusNotFound, fail(s, userdata.NotFound(userdata.ResourceUser))},
		{"error_company_not_found", http.StatusNotFound, fail(s, userdata.NotFound(userdata.ResourceCompany))},
		{"error_membership_not_found", http.StatusNotFound, fail(s, userdata.NotFound(userdata.ResourceMembership))},
		{"error_too_large", http.StatusRequestEntityTooLarge, fail(s, &userdata.Error{Code: userdata.CodeTooLarge})},
		{"error_no_route", http.StatusNotFound, fail(s, &userdata.Error{Code: userdata.CodeNoRoute})},
		{"error_no_method", http.StatusMethodNotAllowed, fail(s, &userdata.Error{Code: userdata.CodeNoMethod})},
		{"error_unavailable", http.StatusServiceUnavailable, fail(s, userdata.Unavailable(errors.New("disk full: password=hunter2")))},
		{"error_internal", http.StatusInternalServerError, fail(s, errors.New("a bug: password=hunter2"))},
		{"error_custom_doc_url", http.StatusBadRequest, fail(custom, userdata.Errorf(userdata.CodeInvalid, "limit must not be less than 1"))},
	}
}

// The hand-written encoders (wire/encode.go) and the envelopes and pages
// around them produce exactly the bytes of testdata/golden. Review a change
// there as a change of the wire format.
func TestGolden(t *testing.T) {
	used := map[string]bool{}
	for _, tc := range goldenCases(t) {
		used[tc.name+".golden.json"] = true
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if ra := rec.Header().Get("Retry-After"); (tc.status == http.StatusServiceUnavailable) != (ra == "1") {
				t.Errorf("Retry-After %q with status %d", ra, tc.status)
			}
			body := rec.Body.Bytes()
			if !json.Valid(body) || !bytes.HasSuffix(body, []byte("}\n")) {
				t.Errorf("not one JSON object and a newline: %q", body)
			}
			if bytes.Contains(body, []byte("hunter2")) {
				t.Errorf("the answer leaks the cause of the error: %s", body)
			}
			checkGolden(t, tc.name, body)
		})
	}
	files, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !used[f.Name()] {
			t.Errorf("%s is no case's golden file: remove it", filepath.Join(goldenDir, f.Name()))
		}
	}
}
