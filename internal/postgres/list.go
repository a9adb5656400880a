package postgres

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/keyset"
	"tourd/internal/userdata"
)

// listing describes the rows a list endpoint pages through: a table, its
// tenant column (always $1), and extra conditions built from fixed
// fragments whose arguments are added with arg.
type listing struct {
	table, scopeCol string
	conds           []string
	args            []any
	// base is the table of the listing's rows, where a cursor's sort
	// values are read: table itself, or the table whose rows a derived
	// table (the members of a segment) holds.
	base string
}

func newListing(table, scopeCol, scope string) *listing {
	return &listing{table: table, base: table, scopeCol: scopeCol, args: []any{scope}}
}

// arg adds an argument and returns its placeholder.
func (l *listing) arg(v any) string {
	l.args = append(l.args, v)
	return "$" + strconv.Itoa(len(l.args))
}

// where adds a condition: a fixed SQL fragment with placeholders from arg.
func (l *listing) where(cond string) { l.conds = append(l.conds, cond) }

// whereNameContains keeps the rows where one of cols (names, codeNames)
// contains name, ignoring the case of ASCII letters: lower folds ASCII
// letters only in the "C" collation of those columns, as SQLite's lower
// does, and the argument is folded alike. Text PostgreSQL cannot hold is
// in no name; "" keeps every row.
func (l *listing) whereNameContains(name string, cols ...string) {
	switch {
	case name == "":
	case !storable(name):
		l.where("false")
	default:
		needle := "lower(" + l.arg(name) + `::text COLLATE "C")`
		terms := make([]string, len(cols))
		for i, c := range cols {
			terms[i] = "strpos(lower(" + c + "), " + needle + ") > 0"
		}
		l.where("(" + strings.Join(terms, " OR ") + ")")
	}
}

// whereCreated keeps the rows created within the bounds (inclusive) that
// are not nil. The listing indexes, on (environment_id, created_at, id),
// serve them as a range.
func (l *listing) whereCreated(after, before *time.Time) {
	if after != nil {
		l.where("created_at >= " + l.arg(*after))
	}
	if before != nil {
		l.where("created_at <= " + l.arg(*before))
	}
}

// from renders the FROM and WHERE clauses of the listing.
func (l *listing) from() string {
	return " FROM " + l.table + " WHERE " + strings.Join(append([]string{l.scopeCol + " = $1"}, l.conds...), " AND ")
}

// order is a listing's sort order, with the cursor conditions of this
// backend's dialect.
type order struct{ keyset.Order }

func newOrder(p userdata.PageRequest) order { return order{keyset.NewOrder(p)} }

// keyset renders the condition "the row comes strictly after the cursor
// row" or, with atOrBefore, "the row is the cursor row or comes before it".
// The cursor row's sort values are read by subqueries in the listing's
// tenant scope, so a cursor from another table or tenant, or a deleted
// one, makes them NULL and the condition selects nothing. When every
// column goes the same way, the condition is a row comparison, which an
// index on (scope, columns…, id) serves as a range (read backwards when
// they all descend).
func (o order) keyset(l *listing, cursor string, atOrBefore bool) string {
	vals := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		vals[i] = "(SELECT " + c + " FROM " + l.base + " WHERE " + l.scopeCol + " = $1 AND id = " + cursor + ")"
	}
	if desc := o.Desc[0]; !slices.Contains(o.Desc, !desc) {
		op := " > "
		switch {
		case desc && atOrBefore:
			op = " >= "
		case desc:
			op = " < "
		case atOrBefore:
			op = " <= "
		}
		return "(" + strings.Join(o.Cols, ", ") + ")" + op + "(" + strings.Join(vals, ", ") + ")"
	}
	terms := make([]string, len(o.Cols))
	for i, c := range o.Cols {
		var t []string
		for j := 0; j < i; j++ {
			t = append(t, o.Cols[j]+" = "+vals[j])
		}
		op := " > "
		if o.Desc[i] {
			op = " < "
		}
		terms[i] = "(" + strings.Join(append(t, c+op+vals[i]), " AND ") + ")"
	}
	after := "(" + strings.Join(terms, " OR ") + ")"
	if atOrBefore {
		return "NOT " + after // the order is total: every row is after, or at or before
	}
	return after
}

// count returns the number of rows of the listing.
func count(ctx context.Context, s *Store, l *listing) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT count(*)"+l.from(), l.args...).Scan(&n)
	return n, err
}

// list returns one page of the listing under the paging algorithm of §5.3.
// cols are the selected columns; scan reads one row and returns its id.
// The first page takes one query; later pages are read by pageAfter.
func list[T any](ctx context.Context, s *Store, l *listing, p userdata.PageRequest, cols string, scan func(pgx.Row) (T, string, error)) (*userdata.List[T], error) {
	pg := &page[T]{res: &userdata.List[T]{Items: make([]T, 0, p.Limit)}, scan: scan}
	o := newOrder(p)
	if p.Cursor != "" {
		return pageAfter(ctx, s, l, o, p, cols, pg)
	}
	rows, _ := s.pool.Query(ctx, "SELECT "+cols+l.from()+" ORDER BY "+o.By(false)+" LIMIT "+l.arg(p.Limit+1), l.args...)
	defer rows.Close()
	if err := pg.read(rows); err != nil {
		return nil, err
	}
	pg.res.Trim(pg.ids, p.Limit)
	return pg.res, nil
}

// pageAfter reads the page after a cursor and its previous link in one
// round trip for two queries: the up to limit+1 rows after the cursor, and
// the up to limit+1 rows at or before it, which are the rows before the
// page's first row.
func pageAfter[T any](ctx context.Context, s *Store, l *listing, o order, p userdata.PageRequest, cols string, pg *page[T]) (*userdata.List[T], error) {
	if !storable(p.Cursor) {
		return nil, errInvalidCursor()
	}
	cursor, limit := l.arg(p.Cursor), l.arg(p.Limit+1)
	var before []string
	var b pgx.Batch
	b.Queue("SELECT "+cols+l.from()+" AND "+o.keyset(l, cursor, false)+" ORDER BY "+o.By(false)+" LIMIT "+limit, l.args...).
		Query(pg.read)
	b.Queue("SELECT id"+l.from()+" AND "+o.keyset(l, cursor, true)+" ORDER BY "+o.By(true)+" LIMIT "+limit, l.args...).
		Query(func(rows pgx.Rows) (err error) {
			before, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	if len(pg.res.Items) == 0 {
		return nil, errInvalidCursor()
	}
	pg.res.Trim(pg.ids, p.Limit)
	pg.res.SetPrevious(before, p.Limit)
	return pg.res, nil
}

// page collects the rows of one page with their ids.
type page[T any] struct {
	res  *userdata.List[T]
	ids  []string
	scan func(pgx.Row) (T, string, error)
}

func (pg *page[T]) read(rows pgx.Rows) error {
	for rows.Next() {
		item, id, err := pg.scan(rows)
		if err != nil {
			return err
		}
		pg.res.Items, pg.ids = append(pg.res.Items, item), append(pg.ids, id)
	}
	return rows.Err()
}
