package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"tourd/internal/userdata"
)

// TestTranslate checks how driver errors reach the domain: faults of a
// database that cannot be reached or cannot serve now are CodeUnavailable,
// whatever their text; request errors keep their codes; a client that went
// away is not a fault.
func TestTranslate(t *testing.T) {
	refused, err := pgconn.Connect(t.Context(), "postgres://tourd@127.0.0.1:1/tourd?sslmode=disable&connect_timeout=5")
	if err == nil {
		refused.Close(t.Context())
		t.Fatal("connected to port 1")
	}
	var connectErr *pgconn.ConnectError
	if !errors.As(err, &connectErr) {
		t.Fatalf("connecting to a closed port: %T %v, want a *pgconn.ConnectError", err, err)
	}
	pg := func(code string) error {
		return fmt.Errorf("batch: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	for _, tt := range []struct {
		name string
		err  error
		want userdata.Code
	}{
		{"connection refused", err, userdata.CodeUnavailable},
		{"connection broken", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, userdata.CodeUnavailable},
		{"connection closed mid-message", fmt.Errorf("receive message failed: %w", io.ErrUnexpectedEOF), userdata.CodeUnavailable},
		{"connection closed", fmt.Errorf("query: %w", io.EOF), userdata.CodeUnavailable},
		{"conn closed by the driver", fmt.Errorf("query: %w", pgconn.ErrConnClosed), userdata.CodeUnavailable},
		{"store deadline", fmt.Errorf("timeout: %w", context.DeadlineExceeded), userdata.CodeUnavailable},
		{"deadline after a deadlock", fmt.Errorf("%w (last attempt: %w)", context.DeadlineExceeded, pg(codeDeadlockDetected)), userdata.CodeUnavailable},
		{"connection failure 08006", pg("08006"), userdata.CodeUnavailable},
		{"client unable to connect 08001", pg("08001"), userdata.CodeUnavailable},
		{"admin shutdown", pg("57P01"), userdata.CodeUnavailable},
		{"crash shutdown", pg("57P02"), userdata.CodeUnavailable},
		{"cannot connect now", pg("57P03"), userdata.CodeUnavailable},
		{"statement timeout", pg("57014"), userdata.CodeUnavailable},
		{"too many connections", pg("53300"), userdata.CodeUnavailable},
		{"disk full", pg("53100"), userdata.CodeUnavailable},
		{"out of memory", pg("53200"), userdata.CodeUnavailable},
		{"io error", pg("58030"), userdata.CodeUnavailable},
		{"NUL in text", pg(codeCharacterNotInRepertoire), userdata.CodeInvalid},
		{"refused by tourd_fail", pg(codeRefused), userdata.CodeInvalid},
		{"unique violation", pg("23505"), userdata.CodeInternal},
		{"syntax error", pg("42601"), userdata.CodeInternal},
		{"client gone", fmt.Errorf("timeout: %w", context.Canceled), userdata.CodeInternal},
		{"domain error", userdata.NotFound(userdata.ResourceUser), userdata.CodeNotFound},
	} {
		got := translate("op", tt.err)
		if code := userdata.ErrorCode(got); code != tt.want {
			t.Errorf("%s: translated to %v (%v), want %s", tt.name, code, got, tt.want)
		}
		if tt.want != userdata.CodeInvalid && !errors.Is(got, tt.err) {
			t.Errorf("%s: %v does not wrap the cause", tt.name, got)
		}
	}
	pgErr := &pgconn.PgError{Code: codeRefused, Message: "attributes.n: cannot add to a stored string"}
	var e *userdata.Error
	if !errors.As(translate("op", pgErr), &e) || e.Message != pgErr.Message {
		t.Errorf("a refused write: %v, want the message %q", e, pgErr.Message)
	}
}
