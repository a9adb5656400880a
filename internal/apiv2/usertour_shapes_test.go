package apiv2_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// The keys of Usertour's own objects, from its API v2 document
// (usertour-v2.openapi.json, components.schemas): the properties of
// UserDto, CompanyDto and CompanyMembershipDto, and of the objects nested
// in them. Every one of them is required there but the nested user or
// company of a membership, which tourd sends only when expanded (as
// Usertour does).
var (
	usertourUser       = []string{"id", "object", "attributes", "createdAt", "companies", "memberships"}
	usertourCompany    = []string{"id", "object", "attributes", "createdAt", "users", "memberships"}
	usertourMembership = []string{"id", "object", "attributes", "createdAt", "companyId", "userId"}
	usertourSummary    = []string{"id", "object", "attributes", "createdAt"}
)

// tourdExtras are the keys tourd adds to each of those objects: v1's
// created_at (v2 objects are v1's, byte for byte: v2.md §2).
var tourdExtras = []string{"created_at"}

// shape checks that obj, an object named what in the test's messages, has
// exactly Usertour's keys plus tourd's extras, of the types Usertour's
// document gives, and returns it.
type shape struct {
	t    *testing.T
	what string
}

func (s shape) object(v any, object string, keys []string, also ...string) map[string]any {
	s.t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		s.t.Fatalf("%s: %T, not an object", s.what, v)
	}
	want := slices.Concat(keys, tourdExtras, also)
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(obj)); !slices.Equal(got, want) {
		s.t.Errorf("%s has the keys %v, want %v (Usertour's, plus %v)", s.what, got, want, tourdExtras)
	}
	if obj["object"] != object {
		s.t.Errorf("%s: object %v, want %q", s.what, obj["object"], object)
	}
	for _, k := range []string{"id", "companyId", "userId"} {
		if _, present := obj[k]; present {
			if id, _ := obj[k].(string); id == "" {
				s.t.Errorf("%s: %s is %v, not a non-empty string", s.what, k, obj[k])
			}
		}
	}
	if _, ok := obj["attributes"].(map[string]any); !ok {
		s.t.Errorf("%s: attributes is %T, not an object", s.what, obj["attributes"])
	}
	createdAt, _ := obj["createdAt"].(string)
	if _, err := time.Parse(time.RFC3339Nano, createdAt); err != nil {
		s.t.Errorf("%s: createdAt %v is not a date-time", s.what, obj["createdAt"])
	}
	if obj["created_at"] != obj["createdAt"] {
		s.t.Errorf("%s: created_at %v is not createdAt %v", s.what, obj["created_at"], obj["createdAt"])
	}
	return obj
}

// relation checks that obj's relation key is null (not expanded) or an
// array (expanded), and returns its elements.
func (s shape) relation(obj map[string]any, key string, expanded bool) []any {
	s.t.Helper()
	v := obj[key]
	if !expanded {
		if v != nil {
			s.t.Errorf("%s: %s is %v, want null (not expanded)", s.what, key, v)
		}
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		s.t.Errorf("%s: %s is %v, want an array (expanded)", s.what, key, v)
	}
	return list
}

// TestUsertourShapes writes a user, a company and a membership through v2
// PUT and reads them back through v2 GET, plain and with every expand: each
// object has exactly the keys of Usertour's UserDto, CompanyDto and
// CompanyMembershipDto (and of their nested objects) plus tourd's v1 extra
// created_at, so a client typed against Usertour's document parses them.
func TestUsertourShapes(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b, noLimits)
		tok := e.all()
		E := func(rest string) string { return en(e.a, e.a0, rest) }

		u := e.call("PUT", E("/users/usr_1"), tok, `{"attributes":{"email":"john.doe@example.com","plan":"pro","seats":12}}`).want(t, 200)
		s := shape{t, "PUT user"}
		s.relation(s.object(u, "user", usertourUser), "companies", false)
		s.relation(u, "memberships", false)
		c := e.call("PUT", E("/companies/acme"), tok, `{"attributes":{"name":"Acme Inc.","size":10}}`).want(t, 200)
		s = shape{t, "PUT company"}
		s.relation(s.object(c, "company", usertourCompany), "users", false)
		s.relation(c, "memberships", false)
		m := e.call("PUT", E("/companies/acme/memberships/usr_1"), tok, `{"attributes":{"role":"admin"}}`).want(t, 200)
		s = shape{t, "PUT membership"}
		s.object(m, "companyMembership", usertourMembership)
		if m["companyId"] != "acme" || m["userId"] != "usr_1" {
			t.Errorf("PUT membership: companyId %v, userId %v, want the external ids acme and usr_1", m["companyId"], m["userId"])
		}
		// A user and a company with no membership: expanded relations are [].
		e.call("PUT", E("/users/usr_2"), tok, `{}`).want(t, 200)
		e.call("PUT", E("/companies/globex"), tok, `{}`).want(t, 200)

		users := func(where string, u any, expand string) {
			t.Helper()
			s := shape{t, where}
			obj := s.object(u, "user", usertourUser)
			companies := s.relation(obj, "companies", expand == "companies")
			memberships := s.relation(obj, "memberships", strings.HasPrefix(expand, "memberships"))
			for _, c := range companies {
				shape{t, where + " companies[]"}.object(c, "company", usertourSummary)
			}
			for _, m := range memberships {
				if expand == "memberships.company" {
					ms := shape{t, where + " memberships[]"}
					mo := ms.object(m, "companyMembership", usertourMembership, "company")
					shape{t, where + " memberships[].company"}.object(mo["company"], "company", usertourSummary)
				} else {
					shape{t, where + " memberships[]"}.object(m, "companyMembership", usertourMembership)
				}
			}
			if obj["id"] == "usr_1" && expand != "" && len(companies)+len(memberships) != 1 {
				t.Errorf("%s: usr_1 has %d companies and %d memberships, want its one", where, len(companies), len(memberships))
			}
			if obj["id"] == "usr_2" && expand != "" && len(companies)+len(memberships) != 0 {
				t.Errorf("%s: usr_2 is in no company", where)
			}
		}
		companies := func(where string, c any, expand string) {
			t.Helper()
			s := shape{t, where}
			obj := s.object(c, "company", usertourCompany)
			us := s.relation(obj, "users", expand == "users")
			memberships := s.relation(obj, "memberships", strings.HasPrefix(expand, "memberships"))
			for _, u := range us {
				shape{t, where + " users[]"}.object(u, "user", usertourSummary)
			}
			for _, m := range memberships {
				if expand == "memberships.user" {
					mo := shape{t, where + " memberships[]"}.object(m, "companyMembership", usertourMembership, "user")
					shape{t, where + " memberships[].user"}.object(mo["user"], "user", usertourSummary)
				} else {
					shape{t, where + " memberships[]"}.object(m, "companyMembership", usertourMembership)
				}
			}
			if obj["id"] == "acme" && expand != "" && len(us)+len(memberships) != 1 {
				t.Errorf("%s: acme has %d users and %d memberships, want its one", where, len(us), len(memberships))
			}
		}
		for _, expand := range []string{"", "companies", "memberships", "memberships.company"} {
			q := ""
			if expand != "" {
				q = "?expand=" + expand
			}
			for _, id := range []string{"usr_1", "usr_2"} {
				users("GET user "+id+q, e.call("GET", E("/users/"+id+q), tok, "").want(t, 200), expand)
			}
			list := e.call("GET", E("/users"+q), tok, "").want(t, 200)
			if got := slices.Sorted(maps.Keys(list)); !slices.Equal(got, []string{"next", "previous", "results"}) {
				t.Errorf("GET users%s: keys %v", q, got)
			}
			for _, u := range list["results"].([]any) {
				users("GET users"+q+" results[]", u, expand)
			}
		}
		for _, expand := range []string{"", "users", "memberships", "memberships.user"} {
			q := ""
			if expand != "" {
				q = "?expand=" + expand
			}
			for _, id := range []string{"acme", "globex"} {
				companies("GET company "+id+q, e.call("GET", E("/companies/"+id+q), tok, "").want(t, 200), expand)
			}
			for _, c := range e.call("GET", E("/companies"+q), tok, "").want(t, 200)["results"].([]any) {
				companies("GET companies"+q+" results[]", c, expand)
			}
		}
	})
}
