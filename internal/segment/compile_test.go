package segment_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

// shapeTree is a user segment "not vip, and in a company of more than 10
// seats, or admin of one, or vip" (which no one is both).
const shapeTree = `[{"type":"attribute","scope":"user","attribute":"tier","op":"not","value":"vip"},` +
	`{"type":"group","match":"any","conditions":[` +
	`{"type":"attribute","scope":"company","attribute":"seats","op":"gt","value":"10"},` +
	`{"type":"attribute","scope":"companyMembership","attribute":"role","op":"is","value":"admin"},` +
	`{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"vip"}]}]`

// TestCompileShape pins the SQL of one tree per dialect: user leaves hoisted
// out of the EXISTS over memberships, each value bound once.
func TestCompileShape(t *testing.T) {
	conds, err := segment.Parse(json.RawMessage(shapeTree))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		d    segment.Dialect
		want string
		args []any
	}{{
		segment.SQLite,
		`(NOT coalesce(json_extract(u.attributes, ?2) = ?3, FALSE)` +
			` AND (EXISTS (SELECT 1 FROM memberships seg_m JOIN companies seg_o ON seg_o.id = seg_m.company_id WHERE seg_m.user_id = u.id` +
			` AND (coalesce((json_type(seg_o.attributes, ?4) IN ('integer', 'real') AND json_extract(seg_o.attributes, ?4) > ?5), FALSE)` +
			` OR coalesce(json_extract(seg_m.attributes, ?6) = ?7, FALSE)` +
			` OR coalesce(json_extract(u.attributes, ?2) = ?3, FALSE)))` +
			` OR coalesce(json_extract(u.attributes, ?2) = ?3, FALSE)))`,
		[]any{`$."tier"`, "vip", `$."seats"`, 10.0, `$."role"`, "admin"},
	}, {
		segment.Postgres,
		`(NOT coalesce((u.attributes -> $2::text) = to_jsonb($3::text), FALSE)` +
			` AND (EXISTS (SELECT 1 FROM memberships seg_m JOIN companies seg_o ON seg_o.id = seg_m.company_id WHERE seg_m.user_id = u.id` +
			` AND (coalesce((jsonb_typeof(seg_o.attributes -> $4::text) = 'number' AND (seg_o.attributes -> $4::text)::numeric > $5::numeric), FALSE)` +
			` OR coalesce((seg_m.attributes -> $6::text) = to_jsonb($7::text), FALSE)` +
			` OR coalesce((u.attributes -> $2::text) = to_jsonb($3::text), FALSE)))` +
			` OR coalesce((u.attributes -> $2::text) = to_jsonb($3::text), FALSE)))`,
		[]any{"tier", "vip", "seats", "10", "role", "admin"},
	}} {
		where, args := segment.Compile(tt.d, conds, crossDefs, segment.Target{Biz: userdata.ScopeUser, Alias: "u", ArgStart: 2}, opNow)
		if diff := cmp.Diff(tt.want, where); diff != "" {
			t.Errorf("dialect %d: SQL (-want +got):\n%s", tt.d, diff)
		}
		if diff := cmp.Diff(tt.args, args); diff != "" {
			t.Errorf("dialect %d: args (-want +got):\n%s", tt.d, diff)
		}
	}
}

// TestCompileConstants checks the trees that need no SQL: no conditions
// (everyone), nothing evaluable (nobody), parts that fold away.
func TestCompileConstants(t *testing.T) {
	for _, tt := range []struct {
		tree, want string
	}{
		{`[]`, "TRUE"},
		{`[{"type":"attribute","scope":"user","attribute":"gone","op":"any"}]`, "FALSE"},
		{`[{"type":"attribute","scope":"company","attribute":"seats","op":"between","value":"5","value2":"1"}]`, "FALSE"},
		// A company leaf under AND is false without memberships, and the
		// membership-only reading drops out.
		{`[{"type":"attribute","scope":"company","attribute":"seats","op":"not","value":"5"}]`,
			`EXISTS (SELECT 1 FROM memberships seg_m JOIN companies seg_o ON seg_o.id = seg_m.company_id WHERE seg_m.user_id = u.id` +
				` AND NOT coalesce((json_type(seg_o.attributes, ?1) IN ('integer', 'real') AND json_extract(seg_o.attributes, ?1) = ?2), FALSE))`},
	} {
		conds, err := segment.Parse(json.RawMessage(tt.tree))
		if err != nil {
			t.Fatal(err)
		}
		where, args := segment.Compile(segment.SQLite, conds, crossDefs, segment.Target{Biz: userdata.ScopeUser, Alias: "u", ArgStart: 1}, opNow)
		if where != tt.want {
			t.Errorf("Compile(%s) = %s, %v; want %s", tt.tree, where, args, tt.want)
		}
	}
}

// TestCompileBindsValues checks that no value of a tree reaches the SQL
// text, however it is spelled.
func TestCompileBindsValues(t *testing.T) {
	evil := `x'); DROP TABLE users; --"`
	defs := segment.DefinitionMap{
		{Scope: userdata.ScopeUser, CodeName: evil}:    userdata.DataTypeString,
		{Scope: userdata.ScopeCompany, CodeName: evil}: userdata.DataTypeList,
	}
	conds := []segment.Condition{
		{Kind: segment.KindAttribute, Scope: userdata.ScopeUser, Attribute: evil, Op: segment.OpEndsWith, Value: &evil},
		{Kind: segment.KindAttribute, Scope: userdata.ScopeCompany, Attribute: evil, Op: segment.OpIncludesAll, Values: []string{evil, "a"}},
	}
	for _, d := range []segment.Dialect{segment.SQLite, segment.Postgres} {
		where, _ := segment.Compile(d, conds, defs, segment.Target{Biz: userdata.ScopeUser, Alias: "u", ArgStart: 1}, opNow)
		if strings.Contains(where, "DROP") {
			t.Errorf("dialect %d: a value in the SQL: %s", d, where)
		}
	}
}

func TestCompilePanics(t *testing.T) {
	for _, tt := range []struct {
		biz   userdata.Scope
		alias string
	}{{userdata.ScopeMembership, "u"}, {userdata.ScopeUser, "seg_m"}, {userdata.ScopeUser, "u; --"}, {userdata.ScopeUser, ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Compile(biz %v, alias %q) did not panic", tt.biz, tt.alias)
				}
			}()
			segment.Compile(segment.SQLite, nil, crossDefs, segment.Target{Biz: tt.biz, Alias: tt.alias, ArgStart: 1}, opNow)
		}()
	}
}

// TestCompileInQueries runs the SQL of a segment where the stores will:
// ANDed with other filters whose parameters come before and after it, and
// in a COUNT(*), on both backends.
func TestCompileInQueries(t *testing.T) {
	conds, err := segment.Parse(json.RawMessage(shapeTree))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range openDBs(t) {
		tenant := d.write(t, t.Name(), crossWorld)
		where, args := segment.Compile(d.dialect, conds, crossDefs, segment.Target{Biz: userdata.ScopeUser, Alias: "u", ArgStart: 2}, opNow)
		next := "?"
		if d.dialect == segment.Postgres {
			next = "$" + string(rune('0'+2+len(args)))
		}
		list := "SELECT u.external_id FROM users u WHERE u.environment_id = " + d.placeholder(1) + " AND " + where +
			" AND u.external_id <> " + next + " ORDER BY u.external_id"
		got, err := d.rows(t.Context(), list, append(append([]any{tenant.EnvironmentID}, args...), "userInPro")...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.name, err, list)
		}
		// userInFree is admin of free (20 seats), userMultiOrg of free too.
		if diff := cmp.Diff([]string{"userInFree", "userMultiOrg"}, got); diff != "" {
			t.Errorf("%s: list (-want +got):\n%s", d.name, diff)
		}
		count := "SELECT CAST(count(*) AS TEXT) FROM users u WHERE u.environment_id = " + d.placeholder(1) + " AND " + where
		got, err = d.rows(t.Context(), count, append([]any{tenant.EnvironmentID}, args...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.name, err, count)
		}
		if diff := cmp.Diff([]string{"3"}, got); diff != "" {
			t.Errorf("%s: count (-want +got):\n%s", d.name, diff)
		}
	}
}

// TestCompileLargeTree runs the largest tree Validate accepts, of costly
// leaves in groups nested as deep as allowed, on both backends.
func TestCompileLargeTree(t *testing.T) {
	defs := segment.DefinitionMap{
		{Scope: userdata.ScopeUser, CodeName: "d"}:           userdata.DataTypeDatetime,
		{Scope: userdata.ScopeCompany, CodeName: "d"}:        userdata.DataTypeDatetime,
		{Scope: userdata.ScopeMembership, CodeName: "l"}:     userdata.DataTypeList,
		{Scope: userdata.ScopeCompany, CodeName: "s"}:        userdata.DataTypeString,
		{Scope: userdata.ScopeUser, CodeName: "n"}:           userdata.DataTypeNumber,
		{Scope: userdata.ScopeMembership, CodeName: "other"}: userdata.DataTypeBoolean,
	}
	leaves := []string{
		`{"type":"attribute","scope":"user","attribute":"d","op":"on","value":"2026-03-%02d"}`,
		`{"type":"attribute","scope":"company","attribute":"d","op":"less_than","value":"%d"}`,
		`{"type":"attribute","scope":"companyMembership","attribute":"l","op":"not_includes_any","values":["a","%d"]}`,
		`{"type":"attribute","scope":"company","attribute":"s","op":"ends_with","value":"x%d"}`,
		`{"type":"attribute","scope":"user","attribute":"n","op":"between","value":"%d","value2":"1e3"}`,
	}
	var tree string
	for i := range segment.MaxLeaves {
		leaf := fmt.Sprintf(leaves[i%len(leaves)], 1+i%28)
		if i == 0 {
			tree = leaf
			continue
		}
		match := "all"
		if i%2 == 0 {
			match = "any"
		}
		if i <= segment.MaxDepth {
			tree = `{"type":"group","match":"` + match + `","conditions":[` + tree + `,` + leaf + `]}`
		} else {
			tree = tree[:len(tree)-2] + `,` + leaf + `]}`
		}
	}
	tree = "[" + tree + "]"
	conds, err := segment.Parse(json.RawMessage(tree))
	if err != nil {
		t.Fatal(err)
	}
	if err := segment.Validate(conds, defs); err != nil {
		t.Fatal(err)
	}
	for _, d := range openDBs(t) {
		tenant := d.write(t, t.Name(), crossWorld)
		for _, biz := range []userdata.Scope{userdata.ScopeUser, userdata.ScopeCompany} {
			if _, q, err := d.selectIDs(t.Context(), tenant.EnvironmentID, conds, defs, biz, opNow); err != nil {
				t.Errorf("%s, %s segment: %v (%d bytes of SQL)", d.name, biz, err, len(q))
			}
		}
	}
}

// TestCompileWholeReading checks the shape of the whole reading (a
// count): leaves of other scopes standing apart from the entity's own read
// the memberships once, as a set found from the other side's rows of the
// environment; a group mixing scopes keeps the row-by-row EXISTS.
func TestCompileWholeReading(t *testing.T) {
	for _, tt := range []struct {
		tree, want string
	}{{
		`[{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"vip"},` +
			`{"type":"attribute","scope":"company","attribute":"seats","op":"is","value":"5"}]`,
		`(coalesce(json_extract(u.attributes, ?1) = ?2, FALSE)` +
			` AND u.id IN (SELECT seg_m.user_id FROM companies seg_o JOIN memberships seg_m ON seg_m.company_id = seg_o.id WHERE seg_o.environment_id = ?3` +
			` AND coalesce((json_type(seg_o.attributes, ?4) IN ('integer', 'real') AND json_extract(seg_o.attributes, ?4) = ?5), FALSE)))`,
	}, {
		`[{"type":"group","match":"any","conditions":[{"type":"attribute","scope":"user","attribute":"tier","op":"is","value":"vip"},` +
			`{"type":"attribute","scope":"company","attribute":"seats","op":"is","value":"5"}]}]`,
		`(EXISTS (SELECT 1 FROM memberships seg_m JOIN companies seg_o ON seg_o.id = seg_m.company_id WHERE seg_m.user_id = u.id`,
	}} {
		conds, err := segment.Parse(json.RawMessage(tt.tree))
		if err != nil {
			t.Fatal(err)
		}
		where, _ := segment.Compile(segment.SQLite, conds, crossDefs, segment.Target{Biz: userdata.ScopeUser, Alias: "u", Environment: "env", ArgStart: 1}, opNow)
		if !strings.HasPrefix(where, tt.want) {
			t.Errorf("Compile(%s) = %s; want it to begin %s", tt.tree, where, tt.want)
		}
	}
}
