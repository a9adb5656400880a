package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"tourd/internal/sqlite"
)

// runBackup copies a SQLite database, served or not, to a new file.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fset := flag.NewFlagSet("backup", flag.ContinueOnError)
	var db string
	registerDB(fset, &db, getenv)
	force := fset.Bool("force", false, "replace OUT if it exists")
	pos, err := parse(fset, args, stdout)
	if err != nil {
		return err
	}
	path, err := parseDB(db)
	if err != nil {
		return err
	}
	if path == "" {
		return usagef("backup copies SQLite databases only: back up PostgreSQL with pg_dump, e.g. pg_dump --format=custom --file=tourd.dump '%s' (see the README, Backup and restore)", redact(db))
	}
	out := pos[0]
	size, err := sqlite.Backup(ctx, path, out, *force)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup: %s exists: pass --force to replace it", absPath(out))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes (%.1f MiB), a copy of %s\n", absPath(out), size, float64(size)/(1<<20), absPath(path))
	return nil
}
