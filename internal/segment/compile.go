package segment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"tourd/internal/userdata"
)

// Dialect is the SQL of a storage backend.
type Dialect int

// The dialects.
const (
	SQLite   Dialect = iota + 1 // JSON1 functions on attributes stored as JSON text; ?NNN parameters
	Postgres                    // jsonb operators; $N parameters
)

// The aliases Compile gives the tables it reads itself; the caller's alias
// must differ from them.
const (
	membershipAlias = "seg_m" // memberships
	otherAlias      = "seg_o" // the other entity: companies for a user segment, users for a company segment
	elementAlias    = "seg_e" // json_each of a list (SQLite)
)

// Compile returns a boolean SQL expression that holds exactly for the rows
// of the users table (biz ScopeUser) or companies table (ScopeCompany),
// aliased alias, that Match accepts with the same conds, defs and now, and
// the values of its parameters. Every value of the tree, attribute names
// included, is a parameter: the SQL text holds only constants of the
// compiler. The expression is never NULL; it reads the memberships table,
// and the other entity's, in a correlated EXISTS when the tree holds a
// leaf of another scope, so it can be ANDed with any other filter of a
// list or a COUNT(*) over the table.
//
// Parameters are numbered from argStart ($N on PostgreSQL, ?NNN on
// SQLite), each value bound once however often the expression uses it:
// pass argStart = 1 + the number of parameters before the expression, and
// append args after those. On SQLite, a plain ? after the expression takes
// the number after the last of args, so args laid out in text order bind
// right.
//
// Compile panics if biz is not ScopeUser or ScopeCompany, or if alias is
// not a plain identifier other than seg_m, seg_o and seg_e.
func Compile(d Dialect, conds []Condition, defs Definitions, biz userdata.Scope, alias string, now time.Time, argStart int) (where string, args []any) {
	if !isIdentifier(alias) || alias == membershipAlias || alias == otherAlias || alias == elementAlias {
		panic(fmt.Sprintf("segment: alias %q is not an identifier Compile may use", alias))
	}
	p := newPlan(conds, defs, biz, now)
	c := &compiler{d: d, p: p, start: argStart, seen: map[argKey]int{}}
	return c.finish(c.tree(alias).s)
}

func isIdentifier(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// A compiler writes the SQL of one plan.
type compiler struct {
	d      Dialect
	p      *plan
	start  int
	values []any          // the values bound
	kinds  []string       // the kind of each
	seen   map[argKey]int // the index in values of each value
}

type argKey struct {
	kind, value string
}

// tables says which table alias each scope of a leaf reads, "" for a scope
// whose leaves are false (the reading of §3.2 without memberships).
type tables struct {
	self, membership, other string
}

// tree returns the expression of the plan for the entity aliased alias.
func (c *compiler) tree(alias string) sqlExpr {
	p := c.p
	switch {
	case p.everyone:
		return sqlTrue
	case p.nobody:
		return sqlFalse
	case !p.cross():
		return c.all(p.root, tables{self: alias})
	}
	// The top-level conditions that read only the entity hold or fail
	// whatever the membership: (some m: S and X(m)) or (S and X alone) is
	// S and ((some m: X(m)) or X alone), which checks S before looking
	// at memberships.
	var own, cross []node
	for _, n := range p.root {
		if p.readsOthers(n) {
			cross = append(cross, n)
		} else {
			own = append(own, n)
		}
	}
	t := tables{self: alias, membership: membershipAlias, other: otherAlias}
	some := c.all(cross, t)
	exists := sqlFalse
	if some.k != -1 {
		exists = sqlExpr{s: "EXISTS (SELECT 1 FROM " + c.memberships(alias) + c.where(some) + ")"}
	}
	alone := c.all(cross, tables{self: alias})
	return and([]sqlExpr{c.all(own, tables{self: alias}), or([]sqlExpr{exists, alone})})
}

// readsOthers reports whether n holds a leaf of another scope than the
// entity's.
func (p *plan) readsOthers(n node) bool {
	if n.leaf != nil {
		return n.leaf.scope != p.biz
	}
	for _, k := range n.kids {
		if p.readsOthers(k) {
			return true
		}
	}
	return false
}

// memberships returns the FROM clause of the memberships of the entity
// aliased alias, joined to their other side if the plan reads it, and the
// start of its WHERE.
func (c *compiler) memberships(alias string) string {
	own, other, otherTable := "user_id", "company_id", "companies"
	if c.p.biz == userdata.ScopeCompany {
		own, other, otherTable = "company_id", "user_id", "users"
	}
	from := "memberships " + membershipAlias
	if c.p.other {
		from += " JOIN " + otherTable + " " + otherAlias + " ON " + otherAlias + ".id = " + membershipAlias + "." + other
	}
	return from + " WHERE " + membershipAlias + "." + own + " = " + alias + ".id"
}

// where returns the rest of a WHERE that holds where x does.
func (c *compiler) where(x sqlExpr) string {
	if x.k == 1 {
		return ""
	}
	return " AND " + x.s
}

func (c *compiler) all(nodes []node, t tables) sqlExpr {
	xs := make([]sqlExpr, len(nodes))
	for i, n := range nodes {
		xs[i] = c.node(n, t)
	}
	return and(xs)
}

func (c *compiler) node(n node, t tables) sqlExpr {
	switch {
	case n.leaf != nil:
		return c.leaf(n.leaf, t)
	case n.any:
		xs := make([]sqlExpr, len(n.kids))
		for i, k := range n.kids {
			xs[i] = c.node(k, t)
		}
		return or(xs)
	}
	return c.all(n.kids, t)
}

// leaf returns the expression of l, never NULL.
func (c *compiler) leaf(l *leaf, t tables) sqlExpr {
	table := t.self
	switch l.scope {
	case c.p.biz:
	case userdata.ScopeMembership:
		table = t.membership
	default:
		table = t.other
	}
	if table == "" {
		return sqlFalse
	}
	var x sqlExpr
	if c.d == Postgres {
		x = c.postgresLeaf(l, table)
	} else {
		x = c.sqliteLeaf(l, table)
	}
	if x.k == 0 {
		x.s = "coalesce(" + x.s + ", FALSE)"
	}
	if l.neg {
		return not(x)
	}
	return x
}

// bind returns a mark standing for the parameter v, of kind (its
// PostgreSQL type), binding it unless it is bound already; repr tells
// values of a kind apart. finish turns marks into placeholders.
func (c *compiler) bind(kind, repr string, v any) string {
	k := argKey{kind, repr}
	i, ok := c.seen[k]
	if !ok {
		i = len(c.values)
		c.values = append(c.values, v)
		c.kinds = append(c.kinds, kind)
		c.seen[k] = i
	}
	return "\x00" + strconv.Itoa(i) + "\x00"
}

// finish returns sql with its marks replaced by placeholders numbered from
// c.start in order of appearance, and the values of those: a value bound
// for a part of the tree that folded away is not passed. No mark is part
// of a string of the compiler's, which hold no NUL.
func (c *compiler) finish(sql string) (string, []any) {
	var b strings.Builder
	var args []any
	number := map[int]int{}
	for {
		i := strings.IndexByte(sql, 0)
		if i < 0 {
			b.WriteString(sql)
			break
		}
		j := i + 1 + strings.IndexByte(sql[i+1:], 0)
		v, _ := strconv.Atoi(sql[i+1 : j])
		n, ok := number[v]
		if !ok {
			n = c.start + len(args)
			number[v] = n
			args = append(args, c.values[v])
		}
		b.WriteString(sql[:i])
		if c.d == Postgres {
			b.WriteString("$" + strconv.Itoa(n) + "::" + c.kinds[v])
		} else {
			b.WriteString("?" + strconv.Itoa(n))
		}
		sql = sql[j+1:]
	}
	return b.String(), args
}

func (c *compiler) text(s string) string { return c.bind("text", s, s) }

func (c *compiler) integer(n int64) string { return c.bind("int", strconv.FormatInt(n, 10), n) }

// real binds a double (SQLite compares its numbers to doubles).
func (c *compiler) real(f float64) string {
	return c.bind("real", strconv.FormatUint(math.Float64bits(f+0), 16), f+0)
}

// numeric binds a decimal number, written as a string (PostgreSQL).
func (c *compiler) numeric(s string) string { return c.bind("numeric", s, s) }

// texts binds a list of strings (PostgreSQL's text[]).
func (c *compiler) texts(list []string) string {
	return c.bind("text[]", strconv.Itoa(len(list))+"\x00"+strings.Join(list, "\x00"), list)
}

// sqlExpr is an SQL boolean expression; k is 1 or -1 when it is the
// constant TRUE or FALSE, which the compiler folds away.
type sqlExpr struct {
	s string
	k int8
}

var (
	sqlTrue  = sqlExpr{"TRUE", 1}
	sqlFalse = sqlExpr{"FALSE", -1}
)

func and(xs []sqlExpr) sqlExpr { return join(xs, " AND ", 1) }

func or(xs []sqlExpr) sqlExpr { return join(xs, " OR ", -1) }

// join joins xs with op, whose neutral constant is unit (1 for AND, -1 for
// OR); the other constant absorbs.
func join(xs []sqlExpr, op string, unit int8) sqlExpr {
	var parts []string
	for _, x := range xs {
		switch x.k {
		case unit:
			continue
		case -unit:
			return x
		}
		parts = append(parts, x.s)
	}
	switch len(parts) {
	case 0:
		if unit == 1 {
			return sqlTrue
		}
		return sqlFalse
	case 1:
		return sqlExpr{s: parts[0]}
	}
	return sqlExpr{s: "(" + strings.Join(parts, op) + ")"}
}

func not(x sqlExpr) sqlExpr {
	switch x.k {
	case 1:
		return sqlFalse
	case -1:
		return sqlTrue
	}
	return sqlExpr{s: "NOT " + x.s}
}

// conj joins predicates that are not constants with AND.
func conj(parts ...string) sqlExpr { return sqlExpr{s: "(" + strings.Join(parts, " AND ") + ")"} }
