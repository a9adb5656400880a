package segment

import (
	"fmt"
	"math"
	"slices"
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

// A Target is the table whose rows a compiled expression keeps, and how
// the caller reads them.
type Target struct {
	Biz   userdata.Scope // ScopeUser: the users table; ScopeCompany: the companies table
	Alias string         // the table's alias in the caller's query
	// Environment, when set, is the environment of the rows the caller
	// reads, all of them (a count). A tree whose leaves of another scope
	// stand apart from the entity's own then reads the memberships once,
	// as the set of ids they select in the environment, rather than row
	// by row as the first rows of an order are best found.
	Environment string
	// ArgStart is the number of the first parameter: 1 + the number of
	// parameters before the expression.
	ArgStart int
}

// Compile returns a boolean SQL expression that holds exactly for the rows
// of the table of t that Match accepts with the same conds, defs and now,
// and the values of its parameters. Every value of the tree, attribute
// names included, is a parameter: the SQL text holds only constants of the
// compiler. The expression is never NULL; it reads the memberships table,
// and the other entity's, in a correlated EXISTS (or, for a t with an
// Environment, an uncorrelated IN) when the tree holds a leaf of another
// scope, so it can be ANDed with any other filter of a list or a COUNT(*)
// over the table.
//
// Parameters are numbered from t.ArgStart ($N on PostgreSQL, ?NNN on
// SQLite), each value bound once however often the expression uses it:
// append args after the parameters before the expression. On SQLite, a
// plain ? after the expression takes the number after the last of args,
// so args laid out in text order bind right.
//
// Compile panics if t.Biz is not ScopeUser or ScopeCompany, or if t.Alias
// is not a plain identifier other than seg_m, seg_o and seg_e.
func Compile(d Dialect, conds []Condition, defs Definitions, t Target, now time.Time) (where string, args []any) {
	if !isIdentifier(t.Alias) || t.Alias == membershipAlias || t.Alias == otherAlias || t.Alias == elementAlias {
		panic(fmt.Sprintf("segment: alias %q is not an identifier Compile may use", t.Alias))
	}
	p := newPlan(conds, defs, t.Biz, now)
	c := &compiler{d: d, p: p, start: t.ArgStart, seen: map[argKey]int{}}
	return c.finish(c.tree(t).s)
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

// tree returns the expression of the plan for the rows of t.
func (c *compiler) tree(t Target) sqlExpr {
	p, alias := c.p, t.Alias
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
		if p.reads(n, false) {
			cross = append(cross, n)
		} else {
			own = append(own, n)
		}
	}
	some := c.all(cross, tables{self: alias, membership: membershipAlias, other: otherAlias})
	exists := sqlFalse
	switch {
	case some.k == -1:
	case t.Environment != "" && !slices.ContainsFunc(cross, func(n node) bool { return p.reads(n, true) }):
		exists = sqlExpr{s: alias + ".id IN (" + c.memberSet(t.Environment) + c.where(some) + ")"}
	default:
		exists = sqlExpr{s: "EXISTS (SELECT 1 FROM " + c.memberships(alias) + c.where(some) + ")"}
	}
	alone := c.all(cross, tables{self: alias})
	return and([]sqlExpr{c.all(own, tables{self: alias}), or([]sqlExpr{exists, alone})})
}

// reads reports whether n holds a leaf of the entity's own scope (own) or
// of another.
func (p *plan) reads(n node, own bool) bool {
	if n.leaf != nil {
		return (n.leaf.scope == p.biz) == own
	}
	return slices.ContainsFunc(n.kids, func(k node) bool { return p.reads(k, own) })
}

// sides returns the columns of memberships naming the entity and the other
// side, and the other side's table.
func (c *compiler) sides() (own, other, otherTable string) {
	if c.p.biz == userdata.ScopeCompany {
		return "company_id", "user_id", "users"
	}
	return "user_id", "company_id", "companies"
}

// memberships returns the FROM clause of the memberships of the entity
// aliased alias, joined to their other side if the plan reads it, and the
// start of its WHERE.
func (c *compiler) memberships(alias string) string {
	own, other, otherTable := c.sides()
	from := "memberships " + membershipAlias
	if c.p.other {
		from += " JOIN " + otherTable + " " + otherAlias + " ON " + otherAlias + ".id = " + membershipAlias + "." + other
	}
	return from + " WHERE " + membershipAlias + "." + own + " = " + alias + ".id"
}

// memberSet returns the start of a query of the ids of the entities of
// the environment env with a membership: the other side's rows of env,
// found on their listing index, joined to their memberships, and the
// start of its WHERE.
func (c *compiler) memberSet(env string) string {
	own, other, otherTable := c.sides()
	return "SELECT " + membershipAlias + "." + own + " FROM " + otherTable + " " + otherAlias +
		" JOIN memberships " + membershipAlias + " ON " + membershipAlias + "." + other + " = " + otherAlias + ".id" +
		" WHERE " + otherAlias + ".environment_id = " + c.text(env)
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
