package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// listEnvironments returns the names of a page of a project's
// environments, and the page.
func listEnvironments(t *testing.T, s userdata.Store, projectID string, f userdata.EnvironmentFilter) ([]string, *userdata.List[*userdata.Environment]) {
	t.Helper()
	l, err := s.ListEnvironments(t.Context(), projectID, f)
	if err != nil {
		t.Fatalf("ListEnvironments(%s, %+v): %v", projectID, f, err)
	}
	names, _ := externalIDs(l, func(e *userdata.Environment) string { return e.Name })
	return names, l
}

// ListEnvironments lists a project's live environments as created, oldest
// or newest first, page by page, filtered by a substring of their names
// that ignores the case of ASCII letters and knows no wildcards.
func testListEnvironments(t *testing.T, s userdata.Store) {
	p := createProject(t, s, "p")
	var want []*userdata.Environment
	want = append(want, p.Environments[0])
	for _, name := range []string{"Staging", "staging-eu", "Dev", "100%_sure", "Ébène"} {
		want = append(want, createEnvironment(t, s, p.ID, name))
	}
	other := createProject(t, s, "q")
	createEnvironment(t, s, other.ID, "Staging")

	l, err := s.ListEnvironments(t.Context(), p.ID, userdata.EnvironmentFilter{PageRequest: page(10, "")})
	if diff := cmp.Diff(want, l.Items); err != nil || diff != "" || l.NextCursor != "" || l.Prev != userdata.PrevNone {
		t.Errorf("ListEnvironments: %v (-want +got):\n%s", err, diff)
	}
	var names []string
	for _, e := range want {
		names = append(names, e.Name)
	}
	for limit := 1; limit <= len(want); limit++ {
		var walked []string
		cursor := ""
		for i := 0; ; i++ {
			got, l := listEnvironments(t, s, p.ID, userdata.EnvironmentFilter{PageRequest: page(limit, cursor)})
			walked = append(walked, got...)
			if i > 0 && l.Prev == userdata.PrevNone {
				t.Errorf("limit %d, page %d: no previous link", limit, i)
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(walked, names) {
			t.Errorf("limit %d: pages %v, want %v", limit, walked, names)
		}
	}
	newest, _ := listEnvironments(t, s, p.ID, userdata.EnvironmentFilter{PageRequest: page(10, "", userdata.Sort{Field: userdata.SortCreatedAt, Desc: true})})
	slices.Reverse(names)
	if !slices.Equal(newest, names) {
		t.Errorf("newest first: %v, want %v", newest, names)
	}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"", []string{"Production", "Staging", "staging-eu", "Dev", "100%_sure", "Ébène"}},
		{"stag", []string{"Staging", "staging-eu"}},
		{"STAGING", []string{"Staging", "staging-eu"}},
		{"g-E", []string{"staging-eu"}},
		{"production", []string{"Production"}},
		{"%", []string{"100%_sure"}},
		{"_", []string{"100%_sure"}},
		{"0%_S", []string{"100%_sure"}},
		{"%s", []string{}},
		{"Ébè", []string{"Ébène"}},
		{"éBÈ", []string{}}, // only ASCII letters fold
		{"nope", []string{}},
		{"a\x00", []string{}},
	} {
		got, _ := listEnvironments(t, s, p.ID, userdata.EnvironmentFilter{PageRequest: page(10, ""), Name: tt.name})
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListEnvironments(name %q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got, _ := listEnvironments(t, s, "nope", userdata.EnvironmentFilter{PageRequest: page(10, "")}); len(got) != 0 {
		t.Errorf("environments of an unknown project: %v", got)
	}
	_, err = s.ListEnvironments(t.Context(), p.ID, userdata.EnvironmentFilter{PageRequest: page(10, other.Environments[0].ID)})
	wantCode(t, "ListEnvironments(another project's cursor)", err, userdata.CodeInvalidCursor, "")
}

// UpdateEnvironment renames a live environment of the project, and every
// lookup, cached or not, sees the new name at once.
func testUpdateEnvironment(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	staging := createEnvironment(t, s, p.ID, "Staging")
	other := createProject(t, s, "q")
	if _, err := s.Environment(ctx, staging.ID); err != nil { // cached
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	got, err := s.UpdateEnvironment(ctx, p.ID, staging.ID, "QA")
	if err != nil {
		t.Fatal(err)
	}
	want := *staging
	want.Name, want.UpdatedAt = "QA", got.UpdatedAt
	if diff := cmp.Diff(&want, got); diff != "" || !got.UpdatedAt.After(staging.UpdatedAt) {
		t.Errorf("UpdateEnvironment (-want +got):\n%s\nupdated at %v, created at %v", diff, got.UpdatedAt, staging.CreatedAt)
	}
	if e, err := s.Environment(ctx, staging.ID); err != nil || !cmp.Equal(e, got) {
		t.Errorf("Environment after a rename = %+v, %v; want %+v", e, err, got)
	}
	if names, _ := listEnvironments(t, s, p.ID, userdata.EnvironmentFilter{PageRequest: page(10, "")}); !slices.Equal(names, []string{"Production", "QA"}) {
		t.Errorf("ListEnvironments after a rename: %v", names)
	}
	primary, err := s.UpdateEnvironment(ctx, p.ID, p.Environments[0].ID, "Live")
	if err != nil || !primary.IsPrimary || primary.Name != "Live" {
		t.Errorf("UpdateEnvironment(primary) = %+v, %v", primary, err)
	}
	for _, bad := range []string{"", " ", strings.Repeat("x", userdata.MaxNameBytes+1), "a\x00"} {
		_, err := s.UpdateEnvironment(ctx, p.ID, staging.ID, bad)
		wantCode(t, fmt.Sprintf("UpdateEnvironment(%q)", bad), err, userdata.CodeInvalid, "")
	}
	gone := createEnvironment(t, s, p.ID, "gone")
	if err := s.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	for name, ids := range map[string][2]string{
		"unknown":                  {p.ID, "nope"},
		"another project's":        {p.ID, other.Environments[0].ID},
		"of an unknown project":    {"nope", staging.ID},
		"deleted":                  {p.ID, gone.ID},
		"unstorable":               {p.ID, "a\x00"},
		"by an unstorable project": {"a\x00", staging.ID},
	} {
		_, err := s.UpdateEnvironment(ctx, ids[0], ids[1], "x")
		wantCode(t, "UpdateEnvironment("+name+")", err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	}
	if e, _ := s.Environment(ctx, staging.ID); e.Name != "QA" {
		t.Errorf("failed renames changed the environment: %+v", e)
	}
}
