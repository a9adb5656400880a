package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
)

// Backup writes a copy of the database at path to the file dst and returns
// the copy's size in bytes. The copy is the database as it stood at one
// moment: SQLite's VACUUM INTO reads it in a single read transaction, the
// WAL included. It works beside a running server: in WAL mode a reader
// neither waits for the writer nor holds it up, and Backup takes no server
// lock. It never creates the database at path.
//
// dst must not exist unless replace is set. The copy is written to a
// temporary file beside dst, synced, and only then renamed to dst, so that
// dst never holds a partial copy.
func Backup(ctx context.Context, path, dst string, replace bool) (int64, error) {
	src, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("sqlite: backup: no database: %w", err)
	}
	switch fi, err := os.Stat(dst); {
	case err == nil && os.SameFile(fi, src):
		return 0, fmt.Errorf("sqlite: backup: %s is the database itself", dst)
	case err == nil && !replace:
		return 0, fmt.Errorf("sqlite: backup: %s: %w", dst, fs.ErrExist)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("sqlite: backup: %w", err)
	}
	tmp.Close() // VACUUM INTO writes into an empty file
	defer os.Remove(tmp.Name())
	if err := backupVacuum(ctx, path, tmp.Name()); err != nil {
		return 0, err
	}
	size, err := backupSync(tmp.Name())
	if err != nil {
		return 0, fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, fmt.Errorf("sqlite: backup: %w", err)
	}
	// Make the rename durable. Windows cannot sync a directory, and NTFS
	// journals the rename.
	if runtime.GOOS != "windows" {
		if _, err := backupSync(filepath.Dir(dst)); err != nil {
			return 0, fmt.Errorf("sqlite: backup: %w", err)
		}
	}
	return size, nil
}

// backupVacuum copies the database at path into the empty file dst. Its
// connection opens the database read-write, as a WAL reader needs write
// access to the shared-memory index (and VACUUM INTO is refused on a
// query_only connection), but without creating it; it only reads.
func backupVacuum(ctx context.Context, path, dst string) error {
	q := url.Values{}
	q.Set("mode", "rw")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: backup: open %s: %w", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("sqlite: backup: %s is not a tourd database: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("sqlite: backup: copy %s: %w", path, err)
	}
	return nil
}

// backupSync flushes the file or directory at path to disk and returns its
// size.
func backupSync(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
