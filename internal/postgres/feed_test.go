package postgres_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

// TestChangeFeedTwoNodes follows the feed of one node while writers commit
// on two, one of them a transaction that takes its place in the log
// first and commits last (a raw connection, holding its transaction
// open): the reader must not read past it while it is open (a reader
// serving every committed change would, and would then miss it), must
// then read it, and must read every change exactly once. Before them, two
// transactions change one user, the one that took its transaction id
// first committing second: the reader must read their changes in commit
// order (the second's snapshot of the user holds the first's write). It
// also waits on ChangeSignal, which only the node's poller can close for a
// commit made elsewhere.
func TestChangeFeedTwoNodes(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	nodes := openNodes(t, cfg, discard(), 2, 4)
	ctx := t.Context()
	tn := storetest.Tenant(t, nodes[0], "p", "e")
	upsert := func(s *postgres.Store, id string) {
		t.Helper()
		if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: id}); err != nil {
			t.Errorf("UpsertUser(%s): %v", id, err)
		}
	}
	upsert(nodes[0], "before")

	// The reader follows the feed from the start. (A store that has
	// settled nothing, nor read what another settled, while a transaction
	// is open, serves nothing until it ends.)
	r := &feedReader{s: nodes[1], env: tn.EnvironmentID}
	readerDone := make(chan struct{})
	const writers, each = 4, 20
	want := 4 + writers*each
	go func() {
		defer close(readerDone)
		r.follow(t, want)
	}()
	t.Cleanup(func() { <-readerDone }) // it stops when the test's context ends

	// late takes its transaction id, node 1 creates x, then late updates
	// x, recording the change as the store's writes do (sealing it last),
	// and commits.
	ltx, _ := outsideTx(t, cfg)
	var lateXid, xXid uint64
	if err := ltx.QueryRow(ctx, "SELECT pg_current_xact_id()").Scan(&lateXid); err != nil {
		t.Fatal(err)
	}
	upsert(nodes[1], "x")
	if _, err := ltx.Exec(ctx, `WITH up AS (UPDATE users SET attributes = attributes || '{"late": true}'
			WHERE environment_id = $2 AND external_id = 'x' RETURNING external_id, created_at, attributes)
		INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, object_created_at, attributes, before)
		SELECT $1, $2, 'user.updated', now(), 1, external_id, created_at, attributes, '{}' FROM up`, userdata.NewChangeID(), tn.EnvironmentID); err != nil {
		t.Fatal(err)
	}
	if _, err := ltx.Exec(ctx, postgres.SealSQL, []string{tn.EnvironmentID}); err != nil {
		t.Fatal(err)
	}
	if err := ltx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ltx.Conn().QueryRow(ctx, "SELECT xmin::text::bigint FROM changes WHERE object_id = 'x' AND type = 'user.created'").Scan(&xXid); err != nil || xXid%(1<<32) <= lateXid%(1<<32) {
		t.Errorf("x was created by transaction %d (%v), not after the update's, %d", xXid, err, lateXid)
	}

	start := []string{"before", "x", "x updated"}
	for deadline := time.Now().Add(10 * time.Second); len(r.read()) < len(start) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.read(); !slices.Equal(got, start) {
		t.Fatalf("the reader read %q, want %q", got, start)
	}

	tx, _ := outsideTx(t, cfg)
	if _, err := tx.Exec(ctx, `INSERT INTO changes (id, environment_id, type, created_at, seq, object_id, object_created_at, attributes)
		VALUES ($1, $2, 'user.created', now(), 1, 'held', now(), '{}')`, userdata.NewChangeID(), tn.EnvironmentID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, postgres.SealSQL, []string{tn.EnvironmentID}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				upsert(nodes[w%2], fmt.Sprintf("w%d-%02d", w, i))
			}
		})
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond) // the reader reads what it may
	if got := r.read(); !slices.Equal(got, start) {
		t.Errorf("with the held transaction open, the reader read %q, want only %q", got, start)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-readerDone:
	case <-time.After(time.Minute):
		t.Fatalf("the reader read %d changes in a minute, want %d", len(r.read()), want)
	}

	got := r.read()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("the reader read %s twice", id)
		}
		seen[id] = true
	}
	if start := []string{"before", "x", "x updated", "held"}; len(got) != want || !slices.Equal(got[:len(start)], start) {
		t.Errorf("the reader read %d changes, starting %q; want %d, starting %q", len(got), got[:min(len(start), len(got))], want, start)
	}
	// The held change did take its place in the log before the writers'.
	var first bool
	err := tx.Conn().QueryRow(ctx, `SELECT t.pos < (SELECT min(t.pos) FROM changes c JOIN change_commits t USING (tx, environment_id) WHERE c.object_id LIKE 'w%') FROM changes c JOIN change_commits t USING (tx, environment_id) WHERE c.object_id = 'held'`).Scan(&first)
	if err != nil || !first {
		t.Errorf("the held change's position is not before the writers' (%v, %v)", first, err)
	}

	// Only node 1's poller can tell it of node 0's commits.
	signal := nodes[1].ChangeSignal()
	upsert(nodes[0], "after")
	select {
	case <-signal:
	case <-time.After(5 * time.Second):
		t.Error("no change signal on one node 5 s after a commit on the other")
	}
}

// feedReader follows an environment's feed on one store.
type feedReader struct {
	s   *postgres.Store
	env string

	mu   sync.Mutex
	seen []string // external ids of the users whose changes it read, + " updated" for updates
}

func (r *feedReader) read() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// follow reads from the start until it has read n changes, waiting on
// ChangeSignal whenever a page is empty; it fails t if a signal takes
// more than 10 s.
func (r *feedReader) follow(t *testing.T, n int) {
	after := ""
	for len(r.read()) < n {
		signal := r.s.ChangeSignal()
		p, err := r.s.Changes(t.Context(), r.env, userdata.ChangeQuery{After: after, Limit: 7, Types: userdata.AllChanges})
		if err != nil {
			t.Errorf("Changes(after %q): %v", after, err)
			return
		}
		r.mu.Lock()
		for _, c := range p.Changes {
			id := c.User.ExternalID
			if c.Type == userdata.ChangeUserUpdated {
				id += " updated"
			}
			r.seen = append(r.seen, id)
		}
		r.mu.Unlock()
		after = p.Next
		if len(p.Changes) > 0 {
			continue
		}
		select {
		case <-signal:
		case <-time.After(10 * time.Second):
			t.Errorf("no change signal in 10 s, having read %d changes of %d", len(r.read()), n)
			return
		case <-t.Context().Done():
			return
		}
	}
}
