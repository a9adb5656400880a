package postgres

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"tourd/internal/userdata"
)

// SQLSTATE codes the store acts on.
const (
	codeSerializationFailure     = "40001"
	codeDeadlockDetected         = "40P01"
	codeUntranslatableCharacter  = "22P05" // e.g. \u0000 in a jsonb string
	codeCharacterNotInRepertoire = "22021" // e.g. NUL or invalid UTF-8 in text
	codeUndefinedTable           = "42P01"
)

// translate turns an error from the driver into the domain's terms, by
// SQLSTATE only. Domain errors pass through; text PostgreSQL cannot store
// (NUL characters, invalid UTF-8) becomes CodeInvalid; anything else is an internal error with op for the
// logs.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *userdata.Error
	if errors.As(err, &de) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeUntranslatableCharacter, codeCharacterNotInRepertoire:
			return userdata.Errorf(userdata.CodeInvalid, "text must be valid UTF-8 without NUL characters")
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// retryable reports whether running the failed transaction again can
// succeed: it lost a deadlock or a serialization conflict, it failed
// before anything reached the server, or another write that shared it
// failed.
func retryable(err error) bool {
	if errors.Is(err, errShared) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == codeDeadlockDetected || pgErr.Code == codeSerializationFailure
	}
	return pgconn.SafeToRetry(err)
}

// storable reports whether PostgreSQL text can hold s. A lookup by a value
// it cannot hold finds nothing, so callers answer without asking.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// errInvalidCursor is the error of a cursor that selects no page (§5.3).
func errInvalidCursor() error {
	return userdata.Errorf(userdata.CodeInvalidCursor, "Invalid cursor parameter")
}
