package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	// codeRefused is tourd's own (tourd_fail in 0005_operations.sql): a
	// write that cannot apply, with a message for the client.
	codeRefused = "TD001"
)

// unavailableStates are the SQLSTATE codes (besides class 08, connection
// exception) of a server that cannot serve now but may later: it is
// shutting down, starting or out of resources.
var unavailableStates = map[string]bool{
	"53100": true, // disk_full
	"53200": true, // out_of_memory
	"53300": true, // too_many_connections
	"57014": true, // query_canceled: statement_timeout, or a cancel request
	"57P01": true, // admin_shutdown: a fast shutdown, or pg_terminate_backend
	"57P02": true, // crash_shutdown: another backend crashed
	"57P03": true, // cannot_connect_now: the server is starting or stopping
	"58030": true, // io_error
}

// translate turns an error from the driver into the domain's terms, by
// error type and SQLSTATE only. Domain errors pass through; text
// PostgreSQL cannot store (NUL characters, invalid UTF-8) becomes
// CodeInvalid; a database that cannot be reached or cannot serve now
// becomes CodeUnavailable (see unavailable); anything else is an internal
// error. Both keep op and the cause for the logs. A write that the SQL
// refuses (codeRefused) is CodeInvalid with the message it raised.
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
		case codeRefused:
			return userdata.Errorf(userdata.CodeInvalid, "%s", pgErr.Message)
		}
	}
	err = fmt.Errorf("postgres: %s: %w", op, err)
	if unavailable(err) {
		return userdata.Unavailable(err)
	}
	return err
}

// unavailable reports whether err says that the database could not be
// reached or could not serve in time, rather than that the request was
// wrong: a failed connection attempt (whatever the server answered), a
// broken or timed-out connection (the store's deadline passed), or a
// server error of class 08 or in unavailableStates. A cancelled context,
// whose client went away, is not.
func unavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &connectErr):
		return true
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "08") || unavailableStates[pgErr.Code]
	}
	return errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
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
