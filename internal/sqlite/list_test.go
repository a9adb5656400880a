package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// recorder records the queries run through it.
type recorder struct {
	querier
	queries []recorded
}

type recorded struct {
	query string
	args  []any
}

func (r *recorder) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	r.queries = append(r.queries, recorded{query, args})
	return r.querier.QueryContext(ctx, query, args...)
}

func (r *recorder) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	r.queries = append(r.queries, recorded{query, args})
	return r.querier.QueryRowContext(ctx, query, args...)
}

// plan returns SQLite's query plan of a query, one step a line.
func plan(t *testing.T, q querier, query string, args []any) string {
	t.Helper()
	rows, err := q.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}

// The creation bounds of user and company lists are ranges of the listing
// indexes, (environment_id, created_at, id) and its newest-first twin, in
// v1's orders and v2's, on every page, a page after a cursor a range from
// the cursor on, with or without creation bounds: no query of a list scans
// the environment or sorts it.
func TestCreatedFilterPlans(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := userdata.Tenant{ProjectID: "p", EnvironmentID: "e"}
	var cursors []string
	for i := range 3 {
		u, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, u.ID, c.ID)
	}
	after, before := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	must := func(l *listing, err error) *listing {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, order := range []struct{ desc, v2 bool }{{false, false}, {true, false}, {true, true}} {
		desc := order.desc
		for _, cursor := range []string{"", cursors[0], cursors[1]} {
			p := userdata.PageRequest{Limit: 2, Cursor: cursor, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: desc}}, IDFollowsSort: order.v2}
			for _, l := range []*listing{
				must(s.usersListing(ctx, tn, userdata.UserFilter{}, nil)),
				must(s.companiesListing(ctx, tn, userdata.CompanyFilter{}, nil)),
				must(s.usersListing(ctx, tn, userdata.UserFilter{CreatedAfter: &after, CreatedBefore: &before}, nil)),
				must(s.usersListing(ctx, tn, userdata.UserFilter{CreatedBefore: &before}, nil)),
				must(s.companiesListing(ctx, tn, userdata.CompanyFilter{CreatedAfter: &after}, nil)),
				must(s.companiesListing(ctx, tn, userdata.CompanyFilter{CreatedAfter: &after, CreatedBefore: &before}, nil)),
			} {
				rec := &recorder{querier: s.r}
				_, err := list(ctx, rec, l, p, entityColumns, func(r scanner) (*entity, string, error) {
					e, err := scanEntity(r)
					return e, e.id, err
				})
				if err != nil && userdata.ErrorCode(err) != userdata.CodeInvalidCursor { // a user's cursor on companies
					t.Fatal(err)
				}
				index := "INDEX " + l.table + "_list"
				if desc && !order.v2 { // created_at DESC, id ASC
					index += "_newest"
				}
				// A range of created_at, or of (created_at, id) after a
				// cursor in an order of one direction.
				search := regexp.MustCompile(regexp.QuoteMeta(index+" (environment_id=? AND ") + `\(?created_at`)
				for _, q := range rec.queries {
					want := search
					switch {
					case !strings.Contains(q.query, "ORDER BY"): // the cursor row, by id
						want = regexp.MustCompile(regexp.QuoteMeta("INDEX sqlite_autoindex_" + l.table + "_1 (id=?)"))
					case strings.Contains(q.query, "WHERE environment_id = ? ORDER BY"): // a first page of the whole environment
						want = regexp.MustCompile(regexp.QuoteMeta(index + " (environment_id=?)"))
					}
					pl := plan(t, s.r, q.query, q.args)
					if !want.MatchString(pl) || strings.Contains(pl, "SCAN") || strings.Contains(pl, "TEMP B-TREE") {
						t.Errorf("%s, %+v, cursor %q:\n%s\nplan:\n%s\nwant a search of %s", l.table, order, cursor, q.query, pl, want)
					}
				}
			}
		}
	}
}
