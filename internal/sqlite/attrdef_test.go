package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// waitQueued waits until n writes wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.jobs) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(s.jobs), n)
		}
	}
}

// fixture makes a project with a user-scoped string definition "plan", and
// returns its tenant, the definition and a write of plan for a user.
func fixture(t *testing.T, s *Store) (userdata.Tenant, *userdata.AttributeDefinition, func(id string, plan any) func(w *wtx) error) {
	t.Helper()
	tn := storetest.Tenant(t, s, "p", "e")
	d, err := s.CreateAttributeDefinition(t.Context(), tn.ProjectID, &userdata.AttributeDefinitionInput{
		Scope: userdata.ScopeUser, DataType: userdata.DataTypeString, CodeName: "plan", DisplayName: "Plan"})
	if err != nil {
		t.Fatal(err)
	}
	return tn, d, func(id string, plan any) func(w *wtx) error {
		return func(w *wtx) error {
			_, _, err := w.upsertUser(tn, &userdata.UserUpsert{ExternalID: id, Attributes: userdata.Attributes{"plan": plan}}, nil)
			return err
		}
	}
}

// holdWriter keeps the writer busy until the returned function is called:
// the writes queued meanwhile then run in the held write's transaction.
func holdWriter(t *testing.T, s *Store) (release func(), held func() error) {
	t.Helper()
	hold := make(chan struct{})
	held = s.submit(t.Context(), func(*wtx) error { <-hold; return nil })
	waitQueued(t, s, 0)
	return func() { close(hold) }, held
}

// wantRedefined fails unless plan is defined once more, as a number.
func wantRedefined(t *testing.T, s *Store, tn userdata.Tenant) {
	t.Helper()
	l, err := s.ListAttributeDefinitions(t.Context(), tn, userdata.AttributeDefinitionFilter{
		PageRequest: userdata.PageRequest{Limit: 10}, Scope: userdata.ScopeUser, Name: "plan"})
	if err != nil || len(l.Items) != 1 || l.Items[0].DataType != userdata.DataTypeNumber {
		t.Errorf("definitions of plan after the deletion and a write: %+v, %v; want one, a number", l, err)
	}
}

// A write that ensures a definition and the deletion of that definition,
// after it in one batch, leave the definition unknown to the writer once
// they commit, even to a write that comes before the deletion's caller
// moves the key marker (its fsync is held): that write defines it again.
func TestDefinitionDeletedAfterWrite(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	tn, d, upsert := fixture(t, s)
	release, held := holdWriter(t, s)
	upserted := s.submit(t.Context(), upsert("u1", "pro"))
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteAttributeDefinition(t.Context(), tn.ProjectID, d.ID) }()
	waitQueued(t, s, 2)
	syncing, releaseSync := blockSync(t, nil)
	release()
	<-syncing
	ran := make(chan struct{})
	next := s.submit(t.Context(), func(w *wtx) error { defer close(ran); return upsert("u2", 1.0)(w) })
	<-ran
	releaseSync()
	for _, wait := range []func() error{held, upserted, func() error { return <-deleted }, next} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	wantRedefined(t, s, tn)
}

// A write after the deletion of a definition it knew, in one batch,
// defines it again.
func TestDefinitionDeletedBeforeWrite(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	tn, d, upsert := fixture(t, s)
	if err := s.write(t.Context(), upsert("u1", "pro")); err != nil { // the writer knows plan
		t.Fatal(err)
	}
	release, held := holdWriter(t, s)
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteAttributeDefinition(t.Context(), tn.ProjectID, d.ID) }()
	waitQueued(t, s, 1)
	upserted := s.submit(t.Context(), upsert("u2", 1.0))
	waitQueued(t, s, 2)
	release()
	for _, wait := range []func() error{held, func() error { return <-deleted }, upserted} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	wantRedefined(t, s, tn)
}

// The retype check and the check for recorded events run in the writer,
// after the writes queued before them: they see what those wrote, in the
// same transaction, before it commits.
func TestDefinitionChecksSeeBatchedWrites(t *testing.T) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn, d, upsert := fixture(t, s)
	ev, err := s.CreateEventDefinition(ctx, tn.ProjectID, &userdata.EventDefinitionInput{CodeName: "signed_up", DisplayName: "Signed up"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write(ctx, upsert("u1", nil)); err != nil {
		t.Fatal(err)
	}
	// In the queue: a value of plan that is not a number, an event, then
	// the retype of plan to number and the deletion of the event's
	// definition.
	release, held := holdWriter(t, s)
	upserted := s.submit(ctx, upsert("u2", "pro"))
	errs := make([]chan error, 3)
	for i, call := range []func() error{
		func() error {
			_, err := s.TrackEvent(ctx, tn, &userdata.EventInput{UserID: "u1", Name: "signed_up"})
			return err
		},
		func() error {
			_, err := s.UpdateAttributeDefinition(ctx, tn.ProjectID, d.ID, &userdata.AttributeDefinitionUpdate{DataType: ptr(userdata.DataTypeNumber)})
			return err
		},
		func() error { return s.DeleteEventDefinition(ctx, tn.ProjectID, ev.ID) },
	} {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- call() }()
		waitQueued(t, s, i+2)
	}
	release()
	for _, wait := range []func() error{held, upserted, func() error { return <-errs[0] }} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-errs[1]; userdata.ErrorCode(err) != userdata.CodeInvalid {
		t.Errorf("retype after a batched misfit: %v, want CodeInvalid", err)
	}
	if err := <-errs[2]; userdata.ErrorCode(err) != userdata.CodeInUse {
		t.Errorf("deletion after a batched event: %v, want CodeInUse", err)
	}
}

func ptr[T any](v T) *T { return &v }
