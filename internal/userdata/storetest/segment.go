package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// memberRows is a store whose tests can read the rows of a segment's
// members, as both backends' can (export_test.go): "environment/external
// id" each ("environment/?" for a row whose user or company is gone),
// ordered by environment, then as the users (companies) list.
type memberRows interface {
	SegmentMemberRows(ctx context.Context, segmentID string) ([]string, error)
}

// members returns the rows of the segment's members.
func members(t *testing.T, s userdata.Store, segmentID string) []string {
	t.Helper()
	m, ok := s.(memberRows)
	if !ok {
		t.Fatalf("%T has no SegmentMemberRows", s)
	}
	rows, err := m.SegmentMemberRows(t.Context(), segmentID)
	if err != nil {
		t.Fatalf("SegmentMemberRows(%s): %v", segmentID, err)
	}
	return rows
}

func wantMembers(t *testing.T, s userdata.Store, segmentID string, want ...string) {
	t.Helper()
	if got := members(t, s, segmentID); !slices.Equal(got, want) {
		t.Errorf("members of %s: %q, want %q", segmentID, got, want)
	}
}

func createSegment(t *testing.T, s userdata.Store, projectID string, in userdata.SegmentInput) *userdata.Segment {
	t.Helper()
	if err := in.Validate(); err != nil {
		t.Fatalf("test input %+v is invalid: %v", in, err)
	}
	sg, err := s.CreateSegment(t.Context(), projectID, &in)
	if err != nil {
		t.Fatalf("CreateSegment(%+v): %v", in, err)
	}
	return sg
}

// manual creates a manual segment of bizType.
func manual(t *testing.T, s userdata.Store, projectID, name string, bizType userdata.Scope) *userdata.Segment {
	t.Helper()
	return createSegment(t, s, projectID, userdata.SegmentInput{Name: name, BizType: bizType, Kind: userdata.SegmentManual})
}

// listSegments returns every segment of a project that f selects, walking
// its pages, and fails the test unless each page links the next.
func listSegments(t *testing.T, s userdata.Store, projectID string, f userdata.SegmentFilter) []*userdata.Segment {
	t.Helper()
	var out []*userdata.Segment
	for i := 0; ; i++ {
		l, err := s.ListSegments(t.Context(), projectID, f)
		if err != nil {
			t.Fatalf("ListSegments(%+v): %v", f, err)
		}
		if i > 0 && l.Prev == userdata.PrevNone {
			t.Errorf("ListSegments(%+v): page %d has no previous link", f, i)
		}
		out = append(out, l.Items...)
		if f.Cursor = l.NextCursor; f.Cursor == "" {
			return out
		}
	}
}

func segmentNames(segs []*userdata.Segment) []string {
	names := make([]string, len(segs))
	for i, sg := range segs {
		names[i] = sg.Name
	}
	return names
}

// builtIns describes a project's built-in segments.
func builtIns(t *testing.T, s userdata.Store, projectID string) []string {
	t.Helper()
	var out []string
	for _, sg := range listSegments(t, s, projectID, userdata.SegmentFilter{PageRequest: page(10, "")}) {
		if sg.Kind == userdata.SegmentAll {
			out = append(out, fmt.Sprintf("%s/%s/%s", sg.Name, sg.BizType, sg.Conditions))
		}
	}
	slices.Sort(out)
	return out
}

var wantBuiltIns = []string{"All Companies/company/", "All Users/user/"}

// A project comes with its two built-in segments, whether CreateProject or
// CreateKey makes it; they are as old as the project, and cannot be
// changed or deleted.
func testSegmentBuiltIns(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	segs := listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(10, "")})
	if got := builtIns(t, s, p.ID); len(segs) != 2 || !cmp.Equal(got, wantBuiltIns) {
		t.Fatalf("segments of a new project: %+v", segs)
	}
	for _, sg := range segs {
		if sg.ProjectID != p.ID || !sg.CreatedAt.Equal(p.CreatedAt) || !sg.UpdatedAt.Equal(p.CreatedAt) || sg.ID == "" {
			t.Errorf("built-in segment %+v of project %+v", sg, p)
		}
		for _, u := range []userdata.SegmentUpdate{{}, {Name: ptr("Everyone")}, {Conditions: ptr(json.RawMessage(`[]`))}} {
			_, err := s.UpdateSegment(ctx, p.ID, sg.ID, &u)
			wantCode(t, fmt.Sprintf("UpdateSegment(built-in, %+v)", u), err, userdata.CodeBuiltIn, "")
		}
		wantCode(t, "DeleteSegment(built-in)", s.DeleteSegment(ctx, p.ID, sg.ID), userdata.CodeBuiltIn, "")
		if got, err := s.GetSegment(ctx, p.ID, sg.ID); err != nil || !cmp.Equal(got, sg) {
			t.Errorf("GetSegment(built-in) after refused changes = %+v, %v; want %+v", got, err, sg)
		}
	}
	byKey := createKey(t, s, "k", "production")
	if got := builtIns(t, s, byKey.ProjectID); !cmp.Equal(got, wantBuiltIns) {
		t.Errorf("built-in segments of a project keys create made: %v", got)
	}
}

// Segments are created, read, changed and deleted within their project;
// a condition segment keeps its conditions as written (compacted), [] when
// it has none; a manual segment has none.
func testSegmentCRUD(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p, other := createProject(t, s, "p"), createProject(t, s, "q")
	written := `[{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"user","attribute":"plan","op":"is","value":"pro"},` +
		`{"type":"attribute","scope":"company","attribute":"size","op":"gt","value":"5"}]}]`
	spaced := strings.ReplaceAll(strings.ReplaceAll(written, ",", ", "), ":", " : ")
	cond := createSegment(t, s, p.ID, userdata.SegmentInput{Name: " Power users ", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition,
		Conditions: json.RawMessage("\n" + spaced + "\n")})
	if cond.ID == "" || cond.ProjectID != p.ID || cond.Name != " Power users " || cond.BizType != userdata.ScopeUser ||
		cond.Kind != userdata.SegmentCondition || string(cond.Conditions) != written || cond.CreatedAt.IsZero() || !cond.UpdatedAt.Equal(cond.CreatedAt) {
		t.Errorf("CreateSegment(condition) = %+v", cond)
	}
	empty := createSegment(t, s, p.ID, userdata.SegmentInput{Name: "Everyone", BizType: userdata.ScopeCompany, Kind: userdata.SegmentCondition})
	if string(empty.Conditions) != "[]" {
		t.Errorf("a condition segment without conditions has %q, want []", empty.Conditions)
	}
	vip := manual(t, s, p.ID, "VIPs", userdata.ScopeCompany)
	if vip.Conditions != nil || vip.Kind != userdata.SegmentManual {
		t.Errorf("CreateSegment(manual) = %+v", vip)
	}
	for _, sg := range []*userdata.Segment{cond, empty, vip} {
		if got, err := s.GetSegment(ctx, p.ID, sg.ID); err != nil || !cmp.Equal(got, sg) {
			t.Errorf("GetSegment(%s) = %+v, %v; want %+v", sg.Name, got, err, sg)
		}
		_, err := s.GetSegment(ctx, other.ID, sg.ID)
		wantCode(t, "GetSegment(another project's)", err, userdata.CodeNotFound, userdata.ResourceSegment)
		_, err = s.UpdateSegment(ctx, other.ID, sg.ID, &userdata.SegmentUpdate{Name: ptr("x")})
		wantCode(t, "UpdateSegment(another project's)", err, userdata.CodeNotFound, userdata.ResourceSegment)
		wantCode(t, "DeleteSegment(another project's)", s.DeleteSegment(ctx, other.ID, sg.ID), userdata.CodeNotFound, userdata.ResourceSegment)
	}
	for _, id := range []string{"nope", "a\x00"} {
		_, err := s.GetSegment(ctx, p.ID, id)
		wantCode(t, fmt.Sprintf("GetSegment(%q)", id), err, userdata.CodeNotFound, userdata.ResourceSegment)
	}
	_, err := s.CreateSegment(ctx, "nope", &userdata.SegmentInput{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentManual})
	wantCode(t, "CreateSegment(unknown project)", err, userdata.CodeNotFound, userdata.ResourceProject)

	// Changes: {} changes nothing; conditions only on a condition segment.
	time.Sleep(2 * time.Millisecond)
	if got, err := s.UpdateSegment(ctx, p.ID, cond.ID, &userdata.SegmentUpdate{}); err != nil || !cmp.Equal(got, cond) {
		t.Errorf("UpdateSegment({}) = %+v, %v; want it unchanged", got, err)
	}
	renamed, err := s.UpdateSegment(ctx, p.ID, cond.ID, &userdata.SegmentUpdate{Name: ptr("Pro users"), Conditions: ptr(json.RawMessage(` [ ] `))})
	if err != nil || renamed.Name != "Pro users" || string(renamed.Conditions) != "[]" || !renamed.UpdatedAt.After(cond.UpdatedAt) ||
		!renamed.CreatedAt.Equal(cond.CreatedAt) || renamed.Kind != userdata.SegmentCondition || renamed.BizType != userdata.ScopeUser {
		t.Errorf("UpdateSegment(name, conditions) = %+v, %v", renamed, err)
	}
	if got, err := s.GetSegment(ctx, p.ID, cond.ID); err != nil || !cmp.Equal(got, renamed) {
		t.Errorf("GetSegment after UpdateSegment = %+v, %v; want %+v", got, err, renamed)
	}
	_, err = s.UpdateSegment(ctx, p.ID, vip.ID, &userdata.SegmentUpdate{Name: ptr("x"), Conditions: ptr(json.RawMessage(`[]`))})
	wantCode(t, "UpdateSegment(conditions of a manual segment)", err, userdata.CodeInvalid, "")
	if got, err := s.UpdateSegment(ctx, p.ID, vip.ID, &userdata.SegmentUpdate{Name: ptr("VIP companies")}); err != nil || got.Name != "VIP companies" || got.Conditions != nil {
		t.Errorf("UpdateSegment(manual, name) = %+v, %v", got, err)
	}
	_, err = s.UpdateSegment(ctx, p.ID, "nope", &userdata.SegmentUpdate{})
	wantCode(t, "UpdateSegment(unknown)", err, userdata.CodeNotFound, userdata.ResourceSegment)

	if err := s.DeleteSegment(ctx, p.ID, empty.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetSegment(ctx, p.ID, empty.ID)
	wantCode(t, "GetSegment(deleted)", err, userdata.CodeNotFound, userdata.ResourceSegment)
	wantCode(t, "DeleteSegment(deleted)", s.DeleteSegment(ctx, p.ID, empty.ID), userdata.CodeNotFound, userdata.ResourceSegment)
	if names := segmentNames(listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(10, "")})); !slices.Equal(names,
		[]string{"All Users", "All Companies", "Pro users", "VIP companies"}) {
		t.Errorf("segments after a deletion: %v", names)
	}
}

// SegmentInput and SegmentUpdate refuse what the contract refuses.
func testSegmentValidation(t *testing.T, _ userdata.Store) {
	for _, in := range []userdata.SegmentInput{
		{Name: "", BizType: userdata.ScopeUser, Kind: userdata.SegmentManual},
		{Name: "a\x00", BizType: userdata.ScopeUser, Kind: userdata.SegmentManual},
		{Name: "x", BizType: userdata.ScopeMembership, Kind: userdata.SegmentManual},
		{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentAll},
		{Name: "x", BizType: userdata.ScopeUser, Kind: "nope"},
		{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentManual, Conditions: json.RawMessage(`[]`)},
		{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition, Conditions: json.RawMessage(`{}`)},
		{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition, Conditions: json.RawMessage(`null`)},
		{Name: "x", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition, Conditions: json.RawMessage(`[`)},
	} {
		wantCode(t, fmt.Sprintf("%+v.Validate()", in), in.Validate(), userdata.CodeInvalid, "")
	}
	for _, u := range []userdata.SegmentUpdate{{Name: ptr("")}, {Conditions: ptr(json.RawMessage(nil))}, {Conditions: ptr(json.RawMessage(`"x"`))}} {
		wantCode(t, fmt.Sprintf("%+v.Validate()", u), u.Validate(), userdata.CodeInvalid, "")
	}
	in := userdata.SegmentInput{Name: " ", BizType: userdata.ScopeCompany, Kind: userdata.SegmentManual}
	if err := in.Validate(); err != nil {
		t.Errorf("a blank name is a name: %v", err)
	}
}

// ListSegments pages through a project's segments, built-in ones
// included, oldest or newest first, filtered by bizType and by a trimmed
// substring of their names that ignores the case of ASCII letters.
func testListSegments(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	other := createProject(t, s, "q")
	manual(t, s, other.ID, "Power users", userdata.ScopeUser)
	all := listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(10, "")})
	for i, name := range []string{"Power users", "power_users", "100%_sure", "Big Companies", "Ébène", "Trial"} {
		bizType := userdata.ScopeUser
		if i >= 3 {
			bizType = userdata.ScopeCompany
		}
		in := userdata.SegmentInput{Name: name, BizType: bizType, Kind: userdata.SegmentManual}
		if i%2 == 0 {
			in.Kind = userdata.SegmentCondition
		}
		all = append(all, createSegment(t, s, p.ID, in))
	}
	if got := listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(100, "")}); !cmp.Equal(got, all) {
		t.Errorf("ListSegments (-want +got):\n%s", cmp.Diff(all, got))
	}
	names := segmentNames(all)
	for limit := 1; limit <= len(all); limit++ {
		if got := segmentNames(listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(limit, "")})); !slices.Equal(got, names) {
			t.Errorf("limit %d: %v, want %v", limit, got, names)
		}
	}
	newest := userdata.PageRequest{Limit: 3, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}}, IDFollowsSort: true}
	reversed := slices.Clone(names)
	slices.Reverse(reversed)
	if got := segmentNames(listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: newest})); !slices.Equal(got, reversed) {
		t.Errorf("newest first: %v, want %v", got, reversed)
	}
	for _, tt := range []struct {
		bizType userdata.Scope
		name    string
		want    []string
	}{
		{userdata.ScopeUser, "", []string{"All Users", "Power users", "power_users", "100%_sure"}},
		{userdata.ScopeCompany, "", []string{"All Companies", "Big Companies", "Ébène", "Trial"}},
		{0, "power", []string{"Power users", "power_users"}},
		{0, "  POWER USERS\t", []string{"Power users"}},
		{0, "   ", names},
		{0, "%", []string{"100%_sure"}},
		{0, "_", []string{"power_users", "100%_sure"}},
		{0, "companies", []string{"All Companies", "Big Companies"}},
		{userdata.ScopeUser, "companies", nil},
		{0, "ébène", nil}, // only ASCII letters fold
		{0, "Ébène", []string{"Ébène"}},
		{0, "a\x00", nil},
	} {
		got := segmentNames(listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(2, ""), BizType: tt.bizType, Name: tt.name}))
		if !slices.Equal(got, tt.want) {
			t.Errorf("bizType %v, name %q: %v, want %v", tt.bizType, tt.name, got, tt.want)
		}
	}
	// A cursor of another project's segment, or of another table, selects
	// nothing.
	for _, cursor := range []string{other.ID, "nope"} {
		_, err := s.ListSegments(ctx, p.ID, userdata.SegmentFilter{PageRequest: page(2, cursor)})
		wantCode(t, fmt.Sprintf("ListSegments(cursor %q)", cursor), err, userdata.CodeInvalidCursor, "")
	}
	if l, err := s.ListSegments(ctx, "nope", userdata.SegmentFilter{PageRequest: page(2, "")}); err != nil || len(l.Items) != 0 {
		t.Errorf("ListSegments(unknown project) = %+v, %v", l, err)
	}
}

// Members of a manual segment are rows of one environment: adding one
// again, or removing a non-member, changes nothing; a user's (company's)
// deletion takes its memberships, and a user made again with its id is
// not a member; a segment's deletion takes its members.
func testSegmentMembers(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	prod := userdata.Tenant{ProjectID: p.ID, EnvironmentID: p.Environments[0].ID}
	staging := userdata.Tenant{ProjectID: p.ID, EnvironmentID: createEnvironment(t, s, p.ID, "staging").ID}
	other := createProject(t, s, "q")
	users, companies := manual(t, s, p.ID, "Users", userdata.ScopeUser), manual(t, s, p.ID, "Companies", userdata.ScopeCompany)
	for _, tn := range []userdata.Tenant{prod, staging} {
		for _, id := range []string{"alice", "bob", "carol"} {
			user(t, s, tn, id, `{}`)
		}
		company(t, s, tn, "acme", `{}`)
	}
	user(t, s, prod, "dave", `{}`)
	add := func(tn userdata.Tenant, sg *userdata.Segment, id string) {
		t.Helper()
		if err := s.AddSegmentMember(ctx, tn, sg.ID, id); err != nil {
			t.Fatalf("AddSegmentMember(%s, %s): %v", sg.Name, id, err)
		}
	}
	remove := func(tn userdata.Tenant, sg *userdata.Segment, id string) {
		t.Helper()
		if err := s.RemoveSegmentMember(ctx, tn, sg.ID, id); err != nil {
			t.Fatalf("RemoveSegmentMember(%s, %s): %v", sg.Name, id, err)
		}
	}
	p0, s0 := prod.EnvironmentID+"/", staging.EnvironmentID+"/"
	envs := []string{p0, s0}
	slices.Sort(envs)
	inEnvOrder := func(prodRows, stagingRows []string) []string {
		if envs[0] == p0 {
			return append(prodRows, stagingRows...)
		}
		return append(stagingRows, prodRows...)
	}
	add(prod, users, "carol")
	add(prod, users, "alice")
	add(prod, users, "alice") // again
	add(staging, users, "bob")
	add(prod, companies, "acme")
	wantMembers(t, s, users.ID, inEnvOrder([]string{p0 + "alice", p0 + "carol"}, []string{s0 + "bob"})...)
	wantMembers(t, s, companies.ID, p0+"acme")
	remove(prod, users, "bob") // not a member in prod
	remove(staging, users, "alice")
	wantMembers(t, s, users.ID, inEnvOrder([]string{p0 + "alice", p0 + "carol"}, []string{s0 + "bob"})...)

	// Errors: the segment, then its kind, then the row.
	cond := createSegment(t, s, p.ID, userdata.SegmentInput{Name: "Cond", BizType: userdata.ScopeUser, Kind: userdata.SegmentCondition})
	everyone := listSegments(t, s, p.ID, userdata.SegmentFilter{PageRequest: page(1, "")})[0]
	foreign := manual(t, s, other.ID, "Theirs", userdata.ScopeUser)
	for name, op := range map[string]func(context.Context, userdata.Tenant, string, string) error{"Add": s.AddSegmentMember, "Remove": s.RemoveSegmentMember} {
		for _, id := range []string{"nope", foreign.ID, "a\x00"} {
			wantCode(t, name+"SegmentMember(unknown segment "+id+")", op(ctx, prod, id, "alice"), userdata.CodeNotFound, userdata.ResourceSegment)
		}
		for _, sg := range []*userdata.Segment{cond, everyone} {
			err := op(ctx, prod, sg.ID, "nobody")
			wantCode(t, name+"SegmentMember("+string(sg.Kind)+")", err, userdata.CodeInvalid, "")
			if !strings.Contains(err.Error(), "Members can only be managed on a manual segment.") {
				t.Errorf("%sSegmentMember(%s): %v", name, sg.Kind, err)
			}
		}
		for _, tt := range []struct {
			sg       *userdata.Segment
			id       string
			resource string
			detail   string
		}{
			{users, "nobody", userdata.ResourceUser, `this is a USER segment, and externalId "nobody" does not exist among users`},
			{users, "dave\x00", userdata.ResourceUser, "USER segment"},
			{users, "acme", userdata.ResourceUser, "USER segment"},
			{companies, "alice", userdata.ResourceCompany, `this is a COMPANY segment, and externalId "alice" does not exist among companies`},
		} {
			err := op(ctx, staging, tt.sg.ID, tt.id)
			wantCode(t, fmt.Sprintf("%sSegmentMember(%s, %q)", name, tt.sg.Name, tt.id), err, userdata.CodeNotFound, tt.resource)
			if !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("%sSegmentMember(%s, %q): %v, want its detail to say %q", name, tt.sg.Name, tt.id, err, tt.detail)
			}
		}
	}
	wantCode(t, "AddSegmentMember(dave, only in prod, in staging)", s.AddSegmentMember(ctx, staging, users.ID, "dave"), userdata.CodeNotFound, userdata.ResourceUser)

	// A deleted user takes its memberships; made again, it is not a member.
	if err := s.DeleteUser(ctx, prod, "alice"); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, s, users.ID, inEnvOrder([]string{p0 + "carol"}, []string{s0 + "bob"})...)
	user(t, s, prod, "alice", `{}`)
	wantMembers(t, s, users.ID, inEnvOrder([]string{p0 + "carol"}, []string{s0 + "bob"})...)
	add(prod, users, "alice") // a new row: after carol in the list's order
	wantMembers(t, s, users.ID, inEnvOrder([]string{p0 + "carol", p0 + "alice"}, []string{s0 + "bob"})...)
	if err := s.DeleteCompany(ctx, prod, "acme"); err != nil {
		t.Fatal(err)
	}
	company(t, s, prod, "acme", `{}`)
	wantMembers(t, s, companies.ID)

	// A deleted segment takes its members; others keep theirs.
	add(prod, companies, "acme")
	if err := s.DeleteSegment(ctx, p.ID, users.ID); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, s, users.ID)
	wantMembers(t, s, companies.ID, p0+"acme")
	wantCode(t, "AddSegmentMember(deleted segment)", s.AddSegmentMember(ctx, prod, users.ID, "carol"), userdata.CodeNotFound, userdata.ResourceSegment)
}

// A deleted environment's segment members are purged with its rows; the
// other environments keep theirs.
func testSegmentMembersPurge(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	gone, kept := createEnvironment(t, s, p.ID, "gone"), createEnvironment(t, s, p.ID, "kept")
	goneTn, _ := tenantOf(t, s, gone)
	keptTn, _ := tenantOf(t, s, kept)
	users, companies := manual(t, s, p.ID, "Users", userdata.ScopeUser), manual(t, s, p.ID, "Companies", userdata.ScopeCompany)
	const n = 1200 // more than two purge batches
	for _, tn := range []userdata.Tenant{goneTn, keptTn} {
		fillEnvironment(t, s, tn, n)
		parallel(t, n, func(i int) error { return s.AddSegmentMember(ctx, tn, users.ID, fmt.Sprintf("u%05d", i)) })
		parallel(t, 50, func(i int) error { return s.AddSegmentMember(ctx, tn, companies.ID, fmt.Sprintf("c%02d", i)) })
	}
	keptUsers, keptCompanies := rowsOf(members(t, s, users.ID), kept.ID), rowsOf(members(t, s, companies.ID), kept.ID)
	if len(keptUsers) != n || len(keptCompanies) != 50 || len(rowsOf(members(t, s, users.ID), gone.ID)) != n {
		t.Fatalf("members before the deletion: %d and %d", len(keptUsers), len(keptCompanies))
	}
	if err := s.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	awaitPurge(t, s)
	if got := members(t, s, users.ID); !slices.Equal(got, keptUsers) {
		t.Errorf("user segment after the purge: %d members, %d of the deleted environment; want only the %d of the other",
			len(got), len(rowsOf(got, gone.ID)), len(keptUsers))
	}
	if got := members(t, s, companies.ID); !slices.Equal(got, keptCompanies) {
		t.Errorf("company segment after the purge: %d members, want %d", len(got), len(keptCompanies))
	}
}

// rowsOf keeps the member rows of one environment.
func rowsOf(rows []string, envID string) []string {
	return slices.DeleteFunc(slices.Clone(rows), func(r string) bool { return !strings.HasPrefix(r, envID+"/") })
}
