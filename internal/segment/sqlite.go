package segment

import (
	"strings"

	"tourd/internal/userdata"
)

// sqliteLeaf returns the positive predicate of l on the attributes of
// table, a JSON text column, with SQLite's JSON1 functions: json_type
// tells the JSON type of the value at a path (NULL when the key is absent)
// and json_extract its SQL value (the decoded text of a string).
func (c *compiler) sqliteLeaf(l *leaf, table string) sqlExpr {
	attrs := table + ".attributes"
	path := c.text(sqlitePath(l.key))
	typ := "json_type(" + attrs + ", " + path + ")"
	val := "json_extract(" + attrs + ", " + path + ")"
	switch l.pred {
	case predPresent:
		switch l.typ {
		case userdata.DataTypeString:
			return conj(typ+" <> 'null'", "("+typ+" <> 'text' OR "+val+" <> '')")
		case userdata.DataTypeList:
			return conj(typ+" <> 'null'", "("+typ+" <> 'array' OR json_array_length("+attrs+", "+path+") > 0)")
		}
		return sqlExpr{s: typ + " <> 'null'"}
	case predStrEq:
		if l.s == "" || l.s[0] != '[' && l.s[0] != '{' {
			// Only a string extracts as a text that does not begin
			// like an array or an object.
			return sqlExpr{s: val + " = " + c.text(l.s)}
		}
		return conj(typ+" = 'text'", val+" = "+c.text(l.s))
	case predStrContain:
		return conj(typ+" = 'text'", "instr("+val+", "+c.text(l.s)+") > 0")
	case predStrPrefix:
		return conj(typ+" = 'text'", "instr("+val+", "+c.text(l.s)+") = 1")
	case predStrSuffix:
		if l.s == "" {
			return sqlExpr{s: typ + " = 'text'"}
		}
		// Bytes, as the evaluator compares: substr and length of a text
		// would count characters, and stop at a NUL.
		return conj(typ+" = 'text'", "substr(CAST("+val+" AS BLOB), "+c.integer(-int64(len(l.s)))+") = CAST("+c.text(l.s)+" AS BLOB)")
	case predNumEq, predNumLt, predNumLte, predNumGt, predNumGte:
		return conj(typ+" IN ('integer', 'real')", val+" "+numOps[l.pred]+" "+c.real(l.n1))
	case predNumBetween:
		if l.n1 > l.n2 {
			return sqlFalse
		}
		return conj(typ+" IN ('integer', 'real')", val+" >= "+c.real(l.n1), val+" <= "+c.real(l.n2))
	case predTrue:
		return sqlExpr{s: typ + " = 'true'"}
	case predFalse:
		return sqlExpr{s: typ + " = 'false'"}
	case predListAny, predListAll:
		return c.sqliteList(l, typ, attrs, path)
	}
	return c.sqliteTime(l, typ, val)
}

// numOps are the SQL comparisons of the number predicates.
var numOps = map[pred]string{predNumEq: "=", predNumLt: "<", predNumLte: "<=", predNumGt: ">", predNumGte: ">="}

// sqlitePath returns the JSON path of the member key: quoted, with JSON's
// escapes, which SQLite's paths take.
func sqlitePath(key string) string {
	q := string(userdata.AppendString(nil, key))
	return "$." + q
}

// sqliteList returns the predicate of a list leaf: the string elements of
// the array, as json_each lists them, hold one (all) of l.list.
func (c *compiler) sqliteList(l *leaf, typ, attrs, path string) sqlExpr {
	if len(l.list) == 0 {
		if l.pred == predListAny {
			return sqlFalse
		}
		return sqlExpr{s: typ + " = 'array'"}
	}
	in := make([]string, len(l.list))
	for i, s := range l.list {
		in[i] = c.text(s)
	}
	from := " FROM json_each(" + attrs + ", " + path + ") AS " + elementAlias +
		" WHERE " + elementAlias + ".type = 'text' AND " + elementAlias + ".value IN (" + strings.Join(in, ", ") + ")"
	if l.pred == predListAny {
		return conj(typ+" = 'array'", "EXISTS (SELECT 1"+from+")")
	}
	return conj(typ+" = 'array'", "(SELECT count(DISTINCT "+elementAlias+".value)"+from+") = "+c.integer(int64(len(l.list))))
}

// sqliteTime returns the predicate of a datetime leaf. A value of the
// shape of the stored form, 2006-01-02T15:04:05.000Z, compares as a string
// with the bounds in that form, and then must be a real date and time,
// one that strftime prints back identically: the cheap comparisons first,
// as most values fall outside most ranges. Any other string is read by
// sqliteKey, whose keys compare with the bounds' keys.
func (c *compiler) sqliteTime(l *leaf, typ, val string) sqlExpr {
	if l.lo != nil && l.hi != nil && l.lo.cmp(*l.hi) > 0 {
		return sqlFalse
	}
	var fast, slow []string
	key := sqliteKey(val)
	if l.lo != nil {
		canon, cut := l.lo.canonical()
		op := ">="
		if cut {
			op = ">"
		}
		fast = append(fast, val+" "+op+" "+c.text(canon))
		slow = append(slow, key+" >= "+c.text(l.lo.key()))
	}
	if l.hi != nil {
		canon, cut := l.hi.canonical()
		op, slowOp := "<=", "<="
		if l.hiStrict {
			slowOp = "<"
			if !cut {
				op = "<"
			}
		}
		fast = append(fast, val+" "+op+" "+c.text(canon))
		slow = append(slow, key+" "+slowOp+" "+c.text(l.hi.key()))
	}
	fast = append(fast, "strftime('%Y-%m-%dT%H:%M:%fZ', "+val+") = "+val)
	return conj(typ+" = 'text'", "CASE WHEN "+val+" GLOB '"+storedForm+"'"+
		" THEN "+strings.Join(fast, " AND ")+" ELSE "+strings.Join(slow, " AND ")+" END")
}

// storedForm is the GLOB pattern of the stored form of datetimes.
const storedForm = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z"

// sqliteKey returns an expression whose value is the key (instant.key) of
// the datetime string v, or NULL when v is not one parseInstant reads: its
// first 19 characters are a date and time that strftime prints back (a
// real one), then come an optional fraction and Z or an offset; v holds
// no NUL, past which SQLite's string functions would not look.
func sqliteKey(v string) string {
	return strings.ReplaceAll(`CASE WHEN substr({v}, 1, 19) GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]'`+
		` AND strftime('%Y-%m-%dT%H:%M:%S', substr({v}, 1, 19)) = substr({v}, 1, 19) AND instr({v}, char(0)) = 0 THEN CASE`+
		` WHEN {v} GLOB '*Z' AND (length({v}) = 20 OR substr({v}, 20, length({v}) - 20) GLOB '.[0-9]*' AND substr({v}, 21, length({v}) - 21) NOT GLOB '*[^0-9]*')`+
		` THEN printf('%013d', unixepoch(substr({v}, 1, 19)) + 1000000000000) || '.' || rtrim(substr({v}, 21, max(length({v}) - 21, 0)), '0')`+
		` WHEN length({v}) >= 25 AND {v} GLOB '*[+-][0-9][0-9]:[0-5][0-9]' AND substr({v}, -5, 2) <= '23'`+
		` AND (length({v}) = 25 OR substr({v}, 20, length({v}) - 25) GLOB '.[0-9]*' AND substr({v}, 21, length({v}) - 26) NOT GLOB '*[^0-9]*')`+
		` THEN printf('%013d', unixepoch(substr({v}, 1, 19)) + 1000000000000`+
		` - (CASE substr({v}, -6, 1) WHEN '+' THEN 1 ELSE -1 END) * (CAST(substr({v}, -5, 2) AS INTEGER) * 3600 + CAST(substr({v}, -2, 2) AS INTEGER) * 60))`+
		` || '.' || rtrim(substr({v}, 21, max(length({v}) - 26, 0)), '0') END END`, "{v}", v)
}
