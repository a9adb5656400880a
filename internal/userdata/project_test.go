package userdata_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"acme", "Production", "a", strings.Repeat("é", 127)} {
		if err := userdata.CheckName("project", ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 256), "a\x00b", "\xff"} {
		if err := userdata.CheckName("project", bad); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("CheckName(%q) = %v, want CodeInvalid", bad, err)
		}
	}
}

func TestResolve(t *testing.T) {
	a, b, c := userdata.Named{ID: "id1", Name: "acme"}, userdata.Named{ID: "id2", Name: "acme"}, userdata.Named{ID: "acme", Name: "other"}
	e1, e2 := userdata.Named{ID: "e1", Name: "prod", Project: "p1"}, userdata.Named{ID: "prod", Name: "x", Project: "p2"}
	for _, tt := range []struct {
		ref, project string
		rows         []userdata.Named
		want         userdata.Named
		found        bool
		err          string
	}{
		{"acme", "", nil, userdata.Named{}, false, ""},
		{"acme", "", []userdata.Named{a}, a, true, ""},
		{"id2", "", []userdata.Named{b}, b, true, ""},
		{"acme", "", []userdata.Named{a, b, c}, c, true, ""}, // an id wins over names
		{"acme", "", []userdata.Named{a, b}, userdata.Named{}, false, `invalid: project name "acme" matches 2 projects: id1, id2; give the id of one`},
		{"e1", "p1", []userdata.Named{e1}, e1, true, ""},
		{"prod", "p1", []userdata.Named{e1, e2}, userdata.Named{}, false, "invalid: environment prod is not a live environment of project p1"},
	} {
		what := "project"
		if tt.project != "" {
			what = "environment"
		}
		got, found, err := userdata.Resolve(what, tt.ref, tt.project, tt.rows)
		if got != tt.want || found != tt.found || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("Resolve(%q, %v) = %v, %t, %v; want %v, %t, %q", tt.ref, tt.rows, got, found, err, tt.want, tt.found, tt.err)
		}
	}
}

func TestGroupEnvironments(t *testing.T) {
	p1, p2 := &userdata.Project{ID: "p1"}, &userdata.Project{ID: "p2"}
	e1, e2, e3, orphan := &userdata.Environment{ID: "e1", ProjectID: "p1"}, &userdata.Environment{ID: "e2", ProjectID: "p2"},
		&userdata.Environment{ID: "e3", ProjectID: "p1"}, &userdata.Environment{ID: "e4", ProjectID: "p3"}
	userdata.GroupEnvironments([]*userdata.Project{p1, p2}, []*userdata.Environment{e1, e2, e3, orphan})
	if !cmp.Equal(p1.Environments, []*userdata.Environment{e1, e3}) || !cmp.Equal(p2.Environments, []*userdata.Environment{e2}) {
		t.Errorf("grouped: p1 %v, p2 %v", p1.Environments, p2.Environments)
	}
}
