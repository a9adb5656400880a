package httpapi

import (
	"testing"
	"time"

	"tourd/internal/userdata"
)

// FuzzDecodeUserUpsert feeds arbitrary bodies to the decoding and
// validation of POST /v1/users: it must never panic, must reject only with
// CodeInvalid, and whatever it accepts must satisfy the domain's rules.
func FuzzDecodeUserUpsert(f *testing.F) {
	for _, seed := range []string{
		`{"id":"usr_123456789","attributes":{"name":"John Doe","email":"john.doe@example.com","signed_up_at":"2024-03-20T08:30:00.000Z"}}`,
		`{"id":123,"companies":[{"id":"acme","attributes":{"plan":"pro"}},{"id":"globex"}]}`,
		`{"id":true,"memberships":[{"company":{"id":"c","attributes":null},"attributes":{"role":"admin","x":null}}]}`,
		`{"id":"a","companies":[],"memberships":[]}`,
		`{"id":" ","attributes":[]}`,
		`{"id":"a","attributes":{"":1,"k":{"nested":[1,2,{"x":null}]}}}`,
		`{"id":"a\u0000"}`, `{"id":1e400}`, `{"id":-0.5}`, `[]`, `null`, `{`, ``, `{"id":"a"}{"id":"b"}`,
		`{"id":"a","memberships":[{"company":"x"}]}`, `{"id":"a","companies":[null]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := decodeUserUpsert(body)
		if err != nil {
			if c := userdata.ErrorCode(err); c != userdata.CodeInvalid {
				t.Fatalf("decode(%q): error %v with code %q, want CodeInvalid", body, err, c)
			}
			return
		}
		if err := u.Validate(); err != nil {
			t.Fatalf("decode(%q) accepted input that Validate rejects: %v", body, err)
		}
		if u.Companies != nil && u.Memberships != nil {
			t.Fatalf("decode(%q) accepted both companies and memberships", body)
		}
		all := []userdata.Attributes{u.Attributes}
		for _, c := range u.Companies {
			all = append(all, c.Attributes)
		}
		for _, m := range u.Memberships {
			all = append(all, m.Attributes, m.Company.Attributes)
		}
		for _, a := range all {
			if _, err := a.Create(userdata.SeedAttributes(time.Now())); err != nil {
				t.Fatalf("decode(%q): accepted attributes cannot be stored: %v", body, err)
			}
		}
	})
}
