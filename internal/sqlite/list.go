package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"tourd/internal/keyset"
	"tourd/internal/userdata"
)

// listing describes the rows a list endpoint pages through: a table, its
// tenant column, and extra conditions built from fixed fragments.
type listing struct {
	table, scopeCol, scope string
	conds                  []string
	args                   []any
	// base, when table is a derived table (the members of a segment),
	// is the table of its rows, where a cursor's sort values are read.
	base string
	// varying says that the query's text varies with the data (a
	// compiled condition tree): it runs unprepared, so as not to take the
	// room of the statement cache.
	varying bool
}

// querier returns what runs the listing's queries: the statement cache
// r, or db for a varying listing.
func (l *listing) querier(r *stmts, db *sql.DB) querier {
	if l.varying {
		return db
	}
	return r
}

// where adds a condition (a fixed SQL fragment with ? placeholders).
func (l *listing) where(cond string, args ...any) {
	l.conds = append(l.conds, cond)
	l.args = append(l.args, args...)
}

// whereNameContains keeps the rows where one of cols (names, codeNames)
// contains name, ignoring the case of ASCII letters, which are the only
// ones SQLite's lower folds; "" keeps every row.
func (l *listing) whereNameContains(name string, cols ...string) {
	if name == "" {
		return
	}
	terms := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		terms[i], args[i] = "instr(lower("+c+"), lower(?)) > 0", name
	}
	l.where("("+strings.Join(terms, " OR ")+")", args...)
}

// whereCreated keeps the rows created within the bounds (inclusive) that
// are not nil. The listing indexes, on (environment_id, created_at, id),
// serve them as a range.
func (l *listing) whereCreated(after, before *time.Time) {
	if after != nil {
		l.where("created_at >= ?", micros(*after))
	}
	if before != nil {
		l.where("created_at <= ?", micros(*before))
	}
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// order is a listing's sort order, with the cursor conditions of this
// backend's dialect.
type order struct{ keyset.Order }

func newOrder(p userdata.PageRequest) order { return order{keyset.NewOrder(p)} }

// keyset renders the condition "the row comes after the row whose sort
// values are vals" or, with atOrBefore, "the row is that row or comes
// before it", in this order. When every column goes the same way, the
// condition is a row-value comparison, which SQLite serves as a range of
// the listing's index, so that a page after a cursor reads from the
// cursor on, not from an end of the environment.
func (o order) keyset(vals []any, atOrBefore bool) (string, []any) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
	if o.Uniform() {
		op := " > "
		switch desc := o.Desc[0]; {
		case desc && atOrBefore:
			op = " >= "
		case desc:
			op = " < "
		case atOrBefore:
			op = " <= "
		}
		return "(" + strings.Join(o.Cols, ", ") + ")" + op + "(" + marks + ")", vals
	}
	var terms []string
	var args []any
	for i, c := range o.Cols {
		var t []string
		for j := 0; j < i; j++ {
			t = append(t, o.Cols[j]+" = ?")
			args = append(args, vals[j])
		}
		op := " > ?"
		if o.Desc[i] {
			op = " < ?"
		}
		t = append(t, c+op)
		args = append(args, vals[i])
		terms = append(terms, "("+strings.Join(t, " AND ")+")")
	}
	after := "(" + strings.Join(terms, " OR ") + ")"
	// The bound on the first column that the condition implies, which
	// SQLite serves as a range of the listing's index: without it, for
	// the OR alone, it walks the index from an end of the environment
	// (v1's newest first, about 70 ms a page at a million users).
	bound := o.Cols[0] + " >= ?"
	if o.Desc[0] != atOrBefore {
		bound = o.Cols[0] + " <= ?"
	}
	args = append([]any{vals[0]}, args...)
	if atOrBefore {
		return "(" + bound + " AND NOT " + after + ")", args // the order is total: every row is after, or at or before
	}
	return "(" + bound + " AND " + after + ")", args
}

// values reads the sort values of the row with the given id in the
// listing's tenant scope. It returns CodeInvalidCursor when there is none.
func (o order) values(ctx context.Context, q querier, l *listing, id string) ([]any, error) {
	vals := make([]any, len(o.Cols))
	ptrs := make([]any, len(o.Cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	table := l.table
	if l.base != "" {
		table = l.base
	}
	query := "SELECT " + strings.Join(o.Cols, ", ") + " FROM " + table + " WHERE " + l.scopeCol + " = ? AND id = ?"
	err := q.QueryRowContext(ctx, query, l.scope, id).Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, userdata.Errorf(userdata.CodeInvalidCursor, "Invalid cursor parameter")
	}
	return vals, err
}

// count returns the number of rows of the listing.
func count(ctx context.Context, q querier, l *listing) (int64, error) {
	var n int64
	from, args := l.from()
	err := q.QueryRowContext(ctx, "SELECT count(*)"+from, args...).Scan(&n)
	return n, err
}

// from renders the FROM and WHERE clauses of the listing, and their
// arguments.
func (l *listing) from() (string, []any) {
	return " FROM " + l.table + " WHERE " + strings.Join(append([]string{l.scopeCol + " = ?"}, l.conds...), " AND "),
		append([]any{l.scope}, l.args...)
}

// list returns one page of the listing under the paging algorithm of §5.3.
// cols are the selected columns; scan reads one row and returns its id.
func list[T any](ctx context.Context, q querier, l *listing, p userdata.PageRequest, cols string, scan func(scanner) (T, string, error)) (*userdata.List[T], error) {
	o := newOrder(p)
	from, args := l.from()
	page := from
	pageArgs := args
	var vals []any // the cursor row's sort values
	if p.Cursor != "" {
		var err error
		vals, err = o.values(ctx, q, l, p.Cursor)
		if err != nil {
			return nil, err
		}
		cond, cargs := o.keyset(vals, false)
		page += " AND " + cond
		pageArgs = append(append([]any{}, args...), cargs...)
	}
	rows, err := q.QueryContext(ctx, "SELECT "+cols+page+" ORDER BY "+o.By(false)+" LIMIT ?", append(pageArgs, p.Limit+1)...)
	if err != nil {
		return nil, err
	}
	res := &userdata.List[T]{Items: make([]T, 0, p.Limit)}
	var ids []string
	for rows.Next() {
		item, id, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		res.Items = append(res.Items, item)
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	res.Trim(ids, p.Limit)
	if p.Cursor == "" {
		return res, nil
	}
	if len(res.Items) == 0 {
		return nil, userdata.Errorf(userdata.CodeInvalidCursor, "Invalid cursor parameter")
	}
	return res, previous(ctx, q, o, from, args, vals, p.Limit, res)
}

// previous fills in the previous link of a page read after the cursor row
// (with sort values vals): the rows of the listing at or before the cursor
// are the rows before the page, and the up to limit nearest form the
// previous page (§5.3 step 4).
func previous[T any](ctx context.Context, q querier, o order, from string, args, vals []any, limit int, res *userdata.List[T]) error {
	cond, cargs := o.keyset(vals, true)
	rows, err := q.QueryContext(ctx, "SELECT id"+from+" AND "+cond+" ORDER BY "+o.By(true)+" LIMIT ?",
		append(append(append([]any{}, args...), cargs...), limit+1)...)
	if err != nil {
		return err
	}
	var before []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		before = append(before, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	res.SetPrevious(before, limit)
	return nil
}
