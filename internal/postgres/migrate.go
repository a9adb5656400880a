package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_lock key that serializes migrations of
// all tourd processes on one database ("tourd_mg" in ASCII).
const migrationLock int64 = 0x746f7572645f6d67

// migration is one embedded file.
type migration struct {
	version int
	name    string
}

// embedded lists the embedded migrations in version order.
func embedded() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad name", base)
		}
		out = append(out, migration{v, name})
	}
	return out, nil
}

const qCreateMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now())`

// migrate applies, in order and each in its own transaction, the embedded
// migrations not yet recorded in schema_migrations, up to version last
// (tests stop early to make a database as an older tourd left it). It
// holds the advisory lock on its own connection throughout; closing that
// connection releases the lock even if unlocking fails.
func migrate(ctx context.Context, cfg *pgx.ConnConfig, log *slog.Logger, last int) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, qCreateMigrations); err != nil {
		return err
	}
	todo, err := pending(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range todo {
		if m.version > last {
			break
		}
		if err := apply(ctx, conn, m); err != nil {
			return fmt.Errorf("%s: %w", strings.TrimPrefix(m.name, "migrations/"), err)
		}
		log.InfoContext(ctx, "applied migration", "version", m.version)
	}
	_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrationLock)
	return err
}

// apply runs one migration and records it, in one transaction.
func apply(ctx context.Context, conn *pgx.Conn, m migration) error {
	body, err := migrations.ReadFile(m.name)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, string(body)); err != nil { // no arguments: simple protocol, many statements
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.version)
		return err
	})
}

// pending returns the embedded migrations the database has not recorded.
// A database without schema_migrations has recorded none.
func pending(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) ([]migration, error) {
	all, err := embedded()
	if err != nil {
		return nil, err
	}
	rows, _ := q.Query(ctx, "SELECT version FROM schema_migrations")
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == codeUndefinedTable {
		return all, nil
	}
	if err != nil {
		return nil, err
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[int(v)] = true
	}
	var out []migration
	for _, m := range all {
		if !done[m.version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// checkSchema returns an error telling the operator to migrate when the
// database lacks some of this build's migrations. A database migrated by a
// newer build is accepted: migrations only ever add.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	todo, err := pending(ctx, pool)
	if err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	if len(todo) > 0 {
		return fmt.Errorf("postgres: the database schema is behind this tourd (%d pending migrations, first %s): run `tourd migrate`",
			len(todo), strings.TrimPrefix(todo[0].name, "migrations/"))
	}
	return nil
}
