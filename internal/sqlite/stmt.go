package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// maxStmts bounds the prepared statements one cache keeps; queries beyond
// it (rare shapes, such as long IN lists) run unprepared.
const maxStmts = 256

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmts runs queries through statements prepared once per query text: on a
// *sql.DB, database/sql then keeps one prepared statement per connection.
// Parsing SQL is a large part of a point query's cost in SQLite.
type stmts struct {
	db preparer
	m  sync.Map // query -> *sql.Stmt
	n  atomic.Int32
}

func newStmts(db preparer) *stmts { return &stmts{db: db} }

// stmt returns the prepared statement for query, or nil when the cache is
// full or preparing failed (the caller then runs the query unprepared, and
// sees the error there).
func (c *stmts) stmt(ctx context.Context, query string) *sql.Stmt {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if c.n.Load() >= maxStmts {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return st
}

// ExecContext runs a statement that returns no rows.
func (c *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

// QueryContext runs a query that returns rows.
func (c *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (c *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// close closes every prepared statement.
func (c *stmts) close() error {
	var errs []error
	c.m.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}
