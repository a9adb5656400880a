package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// inFlight begins, on conn, a transaction that writes as a concurrent
// write would, and leaves it open: its changes are not committed, and it
// holds the locks it took.
func inFlight(t *testing.T, conn *pgx.Conn, stmts ...string) pgx.Tx {
	t.Helper()
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	for _, st := range stmts {
		if _, err := tx.Exec(t.Context(), st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	return tx
}

// waitsForLock waits until a transaction waits for a lock on table (of the
// test's schema), as seen from tx, and fails if none does.
func waitsForLock(t *testing.T, tx pgx.Tx, table string, done <-chan error) {
	t.Helper()
	waitFor(t, "a lock wait on "+table, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the call ended without waiting for the transaction in flight on %s: %v", table, err)
		default:
		}
		var waiting bool
		if err := tx.QueryRow(t.Context(), "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted AND relation = $1::regclass)", table).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting
	})
}

// A retype waits for the writes to its scope's table in flight, and checks
// the values they commit: a value written while it runs is either seen or
// written after the change.
func TestRetypeWaitsForWrites(t *testing.T) {
	s, conn, _ := openWithSQL(t)
	ctx := t.Context()
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	tn := storetest.Tenant(t, s, p.ID, p.Environments[0].ID)
	in := userdata.AttributeDefinitionInput{Scope: userdata.ScopeUser, DataType: userdata.DataTypeString, CodeName: "score", DisplayName: "Score"}
	d, err := s.CreateAttributeDefinition(ctx, p.ID, &in)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1", Attributes: userdata.Attributes{"score": 1.0}}); err != nil {
		t.Fatal(err)
	}
	tx := inFlight(t, conn, `UPDATE users SET attributes = attributes || '{"score":"abc"}'`)
	done := make(chan error, 1)
	go func() {
		_, err := s.UpdateAttributeDefinition(ctx, p.ID, d.ID, &userdata.AttributeDefinitionUpdate{DataType: ptr(userdata.DataTypeNumber)})
		done <- err
	}()
	waitsForLock(t, tx, "users", done)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(err.Error(), `the value "abc" of user "u1"`) {
		t.Errorf("retype while a misfit was written: %v, want it refused for that value", err)
	}
}

// Deleting an event definition waits for the events of it being tracked,
// and counts them.
func TestDeleteEventDefinitionWaitsForTracking(t *testing.T) {
	s, conn, _ := openWithSQL(t)
	ctx := t.Context()
	p, err := s.CreateProject(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	tn := storetest.Tenant(t, s, p.ID, p.Environments[0].ID)
	d, err := s.CreateEventDefinition(ctx, p.ID, &userdata.EventDefinitionInput{CodeName: "signed_up", DisplayName: "Signed up"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u1"}); err != nil {
		t.Fatal(err)
	}
	// What TrackEvent does: its definition first (there, nothing to do),
	// then its event.
	tx := inFlight(t, conn,
		`INSERT INTO event_definitions (id, project_id, code_name, display_name, created_at)
			SELECT 'x', project_id, code_name, display_name, now() FROM event_definitions WHERE code_name = 'signed_up'
			ON CONFLICT (project_id, code_name) DO NOTHING`,
		`INSERT INTO events (id, environment_id, user_id, name, attributes, created_at)
			SELECT 'e1', environment_id, id, 'signed_up', '{}', now() FROM users WHERE external_id = 'u1'`)
	done := make(chan error, 1)
	go func() { done <- s.DeleteEventDefinition(ctx, p.ID, d.ID) }()
	waitsForLock(t, tx, "event_definitions", done)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; userdata.ErrorCode(err) != userdata.CodeInUse {
		t.Errorf("DeleteEventDefinition while an event of it was tracked: %v, want CodeInUse", err)
	}
}

func ptr[T any](v T) *T { return &v }
