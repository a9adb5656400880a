package segment_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/segment"
	"tourd/internal/userdata"
)

var seedFlag = flag.Uint64("segment.seed", 0, "the seed of the property tests; 0 takes one from the clock")

// The size of the property test: worlds written, trees per world, entities
// per world. A run takes a few seconds on both backends.
const (
	rounds        = 4
	treesPerRound = 150
	nCompanies    = 10
	nUsers        = 20
)

// TestCompileMatchesEvaluator is the property of segments.md §5: on random
// definitions, entities (unset keys, wrong-typed values, boundary numbers,
// unicode and empty strings, empty and mixed lists, datetimes with offsets
// and fractions, dates around midnight and in the future), memberships
// (none, one, several) and trees (nested groups, every operator, edge
// operands, unevaluable leaves), the SQL that Compile makes for each
// backend selects exactly the entities Match accepts, as each backend
// stored them through its v1 upserts.
func TestCompileMatchesEvaluator(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("rerun with -segment.seed=%d", seed)
		}
	})
	dbs := openDBs(t)
	for round := range rounds {
		g := newGen(rand.New(rand.NewPCG(seed, uint64(round))))
		w := g.world()
		tenants := make([]userdata.Tenant, len(dbs))
		worlds := make([]*stored, len(dbs))
		for i, d := range dbs {
			tenants[i] = d.write(t, fmt.Sprintf("round %d", round), w)
			worlds[i] = d.read(t, tenants[i].EnvironmentID)
		}
		failures := 0
		for range treesPerRound {
			conds := g.tree()
			for _, biz := range []userdata.Scope{userdata.ScopeUser, userdata.ScopeCompany} {
				var first []string
				for i, d := range dbs {
					want := matching(worlds[i], conds, g.defs, biz, g.now)
					if i == 0 {
						first = want
					} else if diff := cmp.Diff(first, want); diff != "" {
						t.Errorf("round %d, %s segment %s: the evaluator differs on %s's data from %s's (-%s +%s):\n%s",
							round, biz, segment.Encode(conds), d.name, dbs[0].name, dbs[0].name, d.name, diff)
					}
					got, q, err := d.selectIDs(t.Context(), tenants[i].EnvironmentID, conds, g.defs, biz, g.now)
					if err != nil {
						t.Fatalf("round %d, %s: %s segment %s: %v\n%s", round, d.name, biz, segment.Encode(conds), err, q)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						failures++
						t.Errorf("round %d, %s: %s segment %s at %s\ndefinitions %v\nevaluator vs SQL (-want +got):\n%s\n%s",
							round, d.name, biz, segment.Encode(conds), g.now.Format(time.RFC3339Nano), g.defs, diff,
							describe(worlds[i], biz, want, got))
					}
				}
			}
			if failures >= 3 {
				t.FailNow()
			}
		}
	}
}

// matching returns the external ids, sorted, of the entities of s that
// Match accepts.
func matching(s *stored, conds []segment.Condition, defs segment.Definitions, biz userdata.Scope, now time.Time) []string {
	entities := s.users
	if biz == userdata.ScopeCompany {
		entities = s.companies
	}
	var ids []string
	for id, e := range entities {
		if segment.Match(conds, defs, biz, e, now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// describe shows the entities on which the evaluator and the SQL differ.
func describe(s *stored, biz userdata.Scope, want, got []string) string {
	entities := s.users
	if biz == userdata.ScopeCompany {
		entities = s.companies
	}
	var b strings.Builder
	for id, e := range entities {
		if slices.Contains(want, id) == slices.Contains(got, id) {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", id, e.Attributes)
		for _, m := range e.Memberships {
			fmt.Fprintf(&b, "  membership %s, other side %s\n", m.Attributes, m.Other)
		}
	}
	return b.String()
}

// A gen makes random definitions, worlds and trees.
type gen struct {
	r    *rand.Rand
	now  time.Time
	keys map[userdata.Scope][]string
	defs segment.DefinitionMap
}

var scopes = []userdata.Scope{userdata.ScopeUser, userdata.ScopeCompany, userdata.ScopeMembership}

// keyPool holds the codeNames attributes take, some of them hard to put
// in a JSON path.
var keyPool = []string{"plan", "seats", "tags", "active", "signed_up", "first_seen_at", "a.b", `q"uote`, `back\slash`, "é", "sp ace", "[0]", "$x", "Plan"}

var types = []userdata.DataType{
	userdata.DataTypeString, userdata.DataTypeNumber, userdata.DataTypeBoolean, userdata.DataTypeList, userdata.DataTypeDatetime,
}

func newGen(r *rand.Rand) *gen {
	// Now is near a midnight, at a random nanosecond, so that days and
	// relative dates have neighbours on both sides.
	now := time.Date(2026, 3, 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(2*time.Hour))) - time.Hour)
	g := &gen{r: r, now: now, keys: map[userdata.Scope][]string{}, defs: segment.DefinitionMap{}}
	for _, s := range scopes {
		keys := slices.Clone(keyPool)
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		g.keys[s] = keys[:6]
		for _, k := range g.keys[s] {
			switch x := r.IntN(20); {
			case x < 2: // no definition
			case x == 2:
				g.defs[segment.DefinitionKey{Scope: s, CodeName: k}] = userdata.DataTypeObject
			case x == 3:
				g.defs[segment.DefinitionKey{Scope: s, CodeName: k}] = userdata.DataTypeRandomAB
			default:
				g.defs[segment.DefinitionKey{Scope: s, CodeName: k}] = types[r.IntN(len(types))]
			}
		}
	}
	return g
}

func (g *gen) pick(n int) int { return g.r.IntN(n) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// world makes companies, users and memberships: a user in no company, in
// one or in several.
func (g *gen) world() *world {
	w := &world{}
	for i := range nCompanies {
		w.companies = append(w.companies, entity{fmt.Sprintf("c%02d", i), g.attrs(userdata.ScopeCompany)})
	}
	for i := range nUsers {
		u := entity{fmt.Sprintf("u%02d", i), g.attrs(userdata.ScopeUser)}
		w.users = append(w.users, u)
		for _, c := range g.r.Perm(nCompanies)[:g.pick(4)] {
			w.memberships = append(w.memberships, membershipOf{u.id, w.companies[c].id, g.attrs(userdata.ScopeMembership)})
		}
	}
	return w
}

// attrs makes the attributes of an entity of scope: each key unset, of its
// definition's type, or of another.
func (g *gen) attrs(scope userdata.Scope) userdata.Attributes {
	a := userdata.Attributes{}
	for _, k := range g.keys[scope] {
		t, ok := g.defs.DataType(scope, k)
		switch x := g.r.Float64(); {
		case x < 0.3:
		case x < 0.8 && ok:
			a[k] = g.value(t)
		default:
			a[k] = g.value(types[g.pick(len(types))])
		}
		if g.chance(0.03) {
			a[k] = map[string]any{"a": 1.0}
		}
		if _, set := a[k]; !set && k == "first_seen_at" && scope != userdata.ScopeMembership {
			// Not left to the store, which sets it to the time of the
			// write, another on each backend.
			a[k] = g.datetime()
		}
	}
	return a
}

// value makes a value of type t, as JSON decodes one.
func (g *gen) value(t userdata.DataType) any {
	switch t {
	case userdata.DataTypeNumber:
		return numberPool[g.pick(len(numberPool))]
	case userdata.DataTypeBoolean:
		return g.chance(0.5)
	case userdata.DataTypeList:
		list := []any{}
		for range g.pick(5) {
			switch x := g.pick(10); {
			case x < 6:
				list = append(list, listPool[g.pick(len(listPool))])
			case x == 6:
				list = append(list, 1.0)
			case x == 7:
				list = append(list, true)
			case x == 8:
				list = append(list, nil)
			default:
				list = append(list, []any{"a"})
			}
		}
		return list
	case userdata.DataTypeDatetime:
		return g.datetime()
	}
	return g.str()
}

var (
	stringPool = []string{"", "pro", "Pro", "free", "pro plan", "enterprise", "a", "ab", "b", "ü", "日本語", "😀x", " pro", "pro ",
		`"q"`, `back\slash`, "5", "true", "2026-03-01T00:00:00Z", "x\ty", "ПРО", "é", "e\u0301", "%", "_", "a%b"}
	numberPool = []float64{0, math.Copysign(0, -1), 1, -1, 5, 5.5, 0.1, 0.2, 0.1 + 0.2, 0.3, 1e21, -1e21, 1e-7,
		9007199254740993, math.MaxFloat64, 5e-324, 100, 99.99999999999999, 1e20, 123456789012345678}
	listPool = []string{"a", "b", "pro", "free", "", "1", "true", "A"}
)

func (g *gen) str() string {
	s := stringPool[g.pick(len(stringPool))]
	if g.chance(0.2) {
		s += stringPool[g.pick(len(stringPool))]
	}
	return s
}

// badDatetimes are strings close to datetimes; some of them are (a leap
// day, year 0 moved back by its offset, -00:00, 15 fraction digits).
var badDatetimes = []string{
	"2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00", "2026-03-01", "2026-03-01t00:00:00z",
	"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:60Z", "2026-13-01T00:00:00Z",
	"2026-01-01T00:00:00+05:60", " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", "2026-01-01T00:00:00.123+0530",
	"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-03-01T00:00:00.000000000000001Z",
	"2023-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T12:00:00Z",
	"٢٠٢٦-01-01T00:00:00Z", "2026-01-01T00:00:00-00:00", "2026-01-01T00:00:00.5-23:59", "+2026-01-01T00:00:00Z",
	"2026-02-29T12:00:00.000Z", "2026-03-01T24:00:00.000Z", "2026-03-01T12:00:00.000z", "2026-03-01T12:00:00,000Z",
	"2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00+01:00Z", "2026-01-01 00:00:00Z", "20260101T000000Z",
}

// datetime makes a datetime string near now, in the stored form or
// another, or a string close to one.
func (g *gen) datetime() string {
	if g.chance(0.1) {
		return badDatetimes[g.pick(len(badDatetimes))]
	}
	return g.format(g.instant())
}

// instant returns a time near now: a few days either way, often at a
// midnight or a millisecond from one, or a whole number of days from now.
func (g *gen) instant() time.Time {
	day := g.now.Truncate(24*time.Hour).AddDate(0, 0, g.pick(11)-5)
	switch g.pick(5) {
	case 0, 1:
		return day
	case 2:
		return day.Add(time.Duration(g.pick(3)-1) * time.Millisecond)
	case 3:
		return g.now.Add(time.Duration(g.pick(11)-5) * 24 * time.Hour)
	}
	return day.Add(time.Duration(g.r.Int64N(int64(24 * time.Hour))))
}

// format writes t as a datetime string: the stored form, or with another
// fraction (none, more digits, trailing zeros), or an offset.
func (g *gen) format(t time.Time) string {
	t = t.UTC()
	if g.chance(0.5) {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	off := 0
	if g.chance(0.6) {
		off = (g.pick(48*60-1) - (24*60 - 1)) * 60
	}
	t = t.In(time.FixedZone("", off))
	var frac string
	switch g.pick(3) {
	case 0:
		frac = "." + strconv.Itoa(t.Nanosecond()/1e6 + 1000)[1:]
	case 1:
		frac = "." + strconv.Itoa(t.Nanosecond() + 1e9)[1:][:1+g.pick(9)] + strings.Repeat("0", g.pick(4))
	}
	zone := "Z"
	switch {
	case off != 0 || g.chance(0.3):
		sign, abs := "+", off
		if off < 0 || off == 0 && g.chance(0.5) {
			sign, abs = "-", -off
		}
		zone = fmt.Sprintf("%s%02d:%02d", sign, abs/3600, abs/60%60)
	}
	return t.Format("2006-01-02T15:04:05") + frac + zone
}

// tree makes a condition tree: nested groups and leaves, the leaves
// mostly valid for their definitions.
func (g *gen) tree() []segment.Condition {
	if g.chance(0.03) {
		return []segment.Condition{}
	}
	return g.list(0)
}

func (g *gen) list(depth int) []segment.Condition {
	conds := make([]segment.Condition, 1+g.pick(3))
	for i := range conds {
		if depth < 3 && g.chance(0.3) {
			match := segment.MatchAll
			if g.chance(0.5) {
				match = segment.MatchAny
			}
			conds[i] = segment.Condition{Kind: segment.KindGroup, Match: match, Conditions: g.list(depth + 1)}
			continue
		}
		conds[i] = g.leaf()
	}
	return conds
}

var allOps = []segment.Op{
	segment.OpIs, segment.OpNot, segment.OpContains, segment.OpNotContains, segment.OpStartsWith, segment.OpEndsWith,
	segment.OpAny, segment.OpEmpty, segment.OpLt, segment.OpLte, segment.OpGt, segment.OpGte, segment.OpBetween,
	segment.OpTrue, segment.OpFalse, segment.OpIncludesAny, segment.OpIncludesAll, segment.OpNotIncludesAny,
	segment.OpNotIncludesAll, segment.OpLessThan, segment.OpExactly, segment.OpMoreThan, segment.OpBefore,
	segment.OpOn, segment.OpAfter,
}

func (g *gen) leaf() segment.Condition {
	scope := scopes[g.pick(len(scopes))]
	key := g.keys[scope][g.pick(len(g.keys[scope]))]
	if g.chance(0.05) {
		key = "nope"
	}
	t, ok := g.defs.DataType(scope, key)
	if !ok {
		t = types[g.pick(len(types))]
	}
	op := allOps[g.pick(len(allOps))]
	if allowed := segment.AllowedOps(t); len(allowed) > 0 && g.chance(0.9) {
		op = allowed[g.pick(len(allowed))]
	}
	c := segment.Condition{Kind: segment.KindAttribute, Scope: scope, Attribute: key, Op: op}
	g.operands(&c, t)
	return c
}

var (
	numberOperands = []string{"0", "-0", "1", "5", "5.5", "0.3", "0.30000000000000004", "1e21", "1E21", "1e+21", "1e-7",
		"0.0000001", "9007199254740993", "-1", "1.7976931348623157e308", "5e-324", "100", "99.99999999999999", "0.1",
		"007", "-1e21", "123456789012345678", "abc", "1e400", " 5"}
	dayOperands = []string{"0", "-0", "1", "-1", "2", "-2", "3", "5", "-5", "7", "3650000", "-3650000", "1.5", "x"}
)

// operands gives c the operands its operator needs, now and then
// malformed or missing.
func (g *gen) operands(c *segment.Condition, t userdata.DataType) {
	str := func(s string) *string { return &s }
	switch c.Op {
	case segment.OpAny, segment.OpEmpty, segment.OpTrue, segment.OpFalse:
	case segment.OpIncludesAny, segment.OpIncludesAll, segment.OpNotIncludesAny, segment.OpNotIncludesAll:
		c.Values = []string{}
		for range 1 + g.pick(3) {
			c.Values = append(c.Values, listPool[g.pick(len(listPool))])
		}
	case segment.OpBefore, segment.OpOn, segment.OpAfter:
		switch g.pick(4) {
		case 0:
			c.Value = str(g.instant().Format("2006-01-02"))
		case 1:
			c.Value = str(g.datetime())
		default:
			c.Value = str(g.format(g.instant()))
		}
	case segment.OpLessThan, segment.OpMoreThan, segment.OpExactly:
		c.Value = str(dayOperands[g.pick(len(dayOperands))])
	case segment.OpLt, segment.OpLte, segment.OpGt, segment.OpGte, segment.OpBetween:
		c.Value = str(numberOperands[g.pick(len(numberOperands))])
		c.Value2 = str(numberOperands[g.pick(len(numberOperands))])
	default:
		if t == userdata.DataTypeNumber {
			c.Value = str(numberOperands[g.pick(len(numberOperands))])
		} else {
			s := g.str()
			if r := []rune(s); len(r) > 0 && g.chance(0.6) { // a part of it, for contains, starts_with and ends_with
				switch i, j := g.pick(len(r)), 1+g.pick(len(r)); {
				case c.Op == segment.OpStartsWith:
					s = string(r[:j])
				case c.Op == segment.OpEndsWith:
					s = string(r[i:])
				default:
					s = string(r[min(i, j-1):j])
				}
			}
			c.Value = str(s)
		}
	}
	if g.chance(0.03) {
		c.Value, c.Value2, c.Values = nil, nil, nil
	}
}
