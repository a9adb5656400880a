package segment

import (
	"strings"
	"unicode/utf8"

	"tourd/internal/userdata"
)

// postgresLeaf returns the positive predicate of l on the attributes of
// table, a jsonb column: -> gives the value of a key (NULL when absent),
// ->> its text (a string's own), jsonb_typeof its JSON type.
//
// PostgreSQL's text holds no NUL, nor does a stored jsonb string: an
// operand holding one can equal or be part of no value, and is not sent.
func (c *compiler) postgresLeaf(l *leaf, table string) sqlExpr {
	if strings.IndexByte(l.key, 0) >= 0 {
		return sqlFalse // no stored key holds a NUL: the value is unset
	}
	key := c.text(l.key)
	val := table + ".attributes -> " + key
	typ := "jsonb_typeof(" + val + ")"
	str := "(" + table + ".attributes ->> " + key + ")"
	switch l.pred {
	case predPresent:
		switch l.typ {
		case userdata.DataTypeString:
			return conj(typ+" <> 'null'", "("+typ+" <> 'string' OR "+str+" <> '')")
		case userdata.DataTypeList:
			return conj(typ+" <> 'null'", "("+typ+" <> 'array' OR jsonb_array_length("+val+") > 0)")
		}
		return sqlExpr{s: typ + " <> 'null'"}
	case predStrEq, predStrContain, predStrPrefix, predStrSuffix:
		return c.postgresString(l, table, key, typ, str)
	case predNumEq, predNumLt, predNumLte, predNumGt, predNumGte:
		return conj(typ+" = 'number'", "("+val+")::numeric "+numOps[l.pred]+" "+c.numeric(formatNumber(l.n1)))
	case predNumBetween:
		if l.n1 > l.n2 {
			return sqlFalse
		}
		return conj(typ+" = 'number'", "("+val+")::numeric BETWEEN "+c.numeric(formatNumber(l.n1))+" AND "+c.numeric(formatNumber(l.n2)))
	case predTrue:
		return sqlExpr{s: "(" + val + ") = 'true'::jsonb"}
	case predFalse:
		return sqlExpr{s: "(" + val + ") = 'false'::jsonb"}
	case predListAny, predListAll:
		return c.postgresList(l, typ, val)
	}
	return c.postgresTime(l, typ, str)
}

// postgresString compares strings by bytes: jsonb's = and strpos do,
// starts_with and right do under the deterministic collations a database
// has.
func (c *compiler) postgresString(l *leaf, table, key, typ, str string) sqlExpr {
	if strings.IndexByte(l.s, 0) >= 0 {
		return sqlFalse
	}
	var x string
	switch l.pred {
	case predStrEq:
		return sqlExpr{s: "(" + table + ".attributes -> " + key + ") = to_jsonb(" + c.text(l.s) + ")"}
	case predStrContain:
		x = "strpos(" + str + ", " + c.text(l.s) + ") > 0"
	case predStrPrefix:
		x = "starts_with(" + str + ", " + c.text(l.s) + ")"
	default:
		x = "right(" + str + ", " + c.integer(int64(utf8.RuneCountInString(l.s))) + ") = " + c.text(l.s)
	}
	return conj(typ+" = 'string'", x)
}

// postgresList uses ?| and ?&, which look for strings among the elements
// of an array (and the keys of an object, or a string itself: hence the
// type check).
func (c *compiler) postgresList(l *leaf, typ, val string) sqlExpr {
	var list []string
	for _, s := range l.list {
		if strings.IndexByte(s, 0) < 0 {
			list = append(list, s)
		} else if l.pred == predListAll {
			return sqlFalse
		}
	}
	op := "?|"
	if l.pred == predListAll {
		op = "?&"
	}
	if len(list) == 0 {
		if l.pred == predListAny {
			return sqlFalse
		}
		return sqlExpr{s: typ + " = 'array'"}
	}
	return conj(typ+" = 'array'", "("+val+") "+op+" "+c.texts(list))
}

// postgresTime compares the key of the datetime string str, a number of
// seconds since the epoch (postgresKey), with the bounds'.
func (c *compiler) postgresTime(l *leaf, typ, str string) sqlExpr {
	if l.lo != nil && l.hi != nil && l.lo.cmp(*l.hi) > 0 {
		return sqlFalse
	}
	key := postgresKey(str)
	var parts []string
	if l.lo != nil {
		parts = append(parts, key+" >= "+c.numeric(l.lo.decimal()))
	}
	if l.hi != nil {
		op := "<="
		if l.hiStrict {
			op = "<"
		}
		parts = append(parts, key+" "+op+" "+c.numeric(l.hi.decimal()))
	}
	return conj(append([]string{typ + " = 'string'"}, parts...)...)
}

// postgresKey returns an expression whose value is the instant the
// datetime string v names, as a numeric of seconds since the epoch, or
// NULL when v is not one parseInstant reads. The date is checked by hand
// before make_date sees it, which would fail the query on a bad one; 400
// years (146,097 days) are added for make_date, which knows no year 0,
// and taken off again.
func postgresKey(v string) string {
	const re = `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`
	y, mo, d := "substr({v}, 1, 4)::int", "substr({v}, 6, 2)::int", "substr({v}, 9, 2)::int"
	h, mi, s := "substr({v}, 12, 2)::int", "substr({v}, 15, 2)::int", "substr({v}, 18, 2)::int"
	oh, om := "substr(right({v}, 5), 1, 2)::int", "right({v}, 2)::int"
	days := "CASE WHEN " + mo + " = 2 THEN CASE WHEN " + y + " % 4 = 0 AND (" + y + " % 100 <> 0 OR " + y + " % 400 = 0) THEN 29 ELSE 28 END" +
		" WHEN " + mo + " IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
	valid := mo + " BETWEEN 1 AND 12 AND " + d + " BETWEEN 1 AND " + days + " AND " + h + " <= 23 AND " + mi + " <= 59 AND " + s + " <= 59" +
		" AND (right({v}, 1) = 'Z' OR " + oh + " <= 23 AND " + om + " <= 59)"
	epoch := "(make_date(" + y + " + 400, " + mo + ", " + d + ") - DATE '1970-01-01' - 146097)::numeric * 86400" +
		" + " + h + " * 3600 + " + mi + " * 60 + " + s +
		" - CASE WHEN right({v}, 1) = 'Z' THEN 0 ELSE (CASE substr(right({v}, 6), 1, 1) WHEN '+' THEN 1 ELSE -1 END) * (" + oh + " * 3600 + " + om + " * 60) END" +
		" + ('0' || coalesce(substring({v} from '^.{19}(\\.[0-9]+)'), ''))::numeric"
	x := "CASE WHEN {v} ~ '" + re + "' THEN CASE WHEN " + valid + " THEN " + epoch + " END END"
	return strings.ReplaceAll(x, "{v}", v)
}
