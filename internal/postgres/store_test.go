package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

func discard() *slog.Logger { return backendtest.Discard }

// openConfig opens a store on cfg, closed when the test ends.
func openConfig(t testing.TB, cfg *pgxpool.Config, log *slog.Logger, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenConfig(t.Context(), cfg, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	backendtest.PostgresURL(t)
	storetest.Run(t, backendtest.Postgres.Open)
}

func TestSharedStore(t *testing.T) {
	backendtest.PostgresURL(t)
	storetest.RunShared(t, backendtest.Postgres.OpenPair)
}

func BenchmarkStore(b *testing.B) {
	backendtest.PostgresURL(b)
	storetest.Bench(b, backendtest.Postgres.Open)
}

// openNodes opens n stores on cfg's database, migrating it, as n tourd
// processes would: each with a pool of its own, of poolSize connections.
func openNodes(t *testing.T, cfg *pgxpool.Config, log *slog.Logger, n int, poolSize int32) []*postgres.Store {
	t.Helper()
	nodes := make([]*postgres.Store, n)
	for i := range nodes {
		nodes[i] = openConfig(t, cfg.Copy(), log, postgres.Options{Migrate: true, PoolSize: poolSize})
	}
	return nodes
}

// TestMigrate checks that a plain Open refuses an unmigrated schema, that
// processes migrating at once all succeed, and that a migrated schema then
// opens without migrating.
func TestMigrate(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	_, err := postgres.OpenConfig(t.Context(), cfg.Copy(), discard(), postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "tourd migrate") {
		t.Fatalf("Open without Migrate on an empty schema: error %v, want one telling to run tourd migrate", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := postgres.OpenConfig(t.Context(), cfg.Copy(), discard(), postgres.Options{Migrate: true, PoolSize: 1})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open with Migrate: %v", err)
		}
	}
	s := openConfig(t, cfg.Copy(), discard(), postgres.Options{})
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestTwoStores runs interleaved upserts of the same users and companies
// through two stores with their own pools, as two tourd processes would:
// half the ids exist beforehand, every call writes its own attribute keys,
// and memberships name shared companies in varying orders. No call may
// fail, each id must be one row, and no attribute may be lost.
func TestTwoStores(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs backendtest.Buffer
	stores := openNodes(t, cfg, debugLogger(&logs), 2, 4)
	ctx := t.Context()
	_, hash, prefix := userdata.NewKey()
	if _, err := stores[0].CreateKey(ctx, "p", "e", hash, prefix); err != nil {
		t.Fatal(err)
	}
	tn, err := stores[1].Authenticate(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	const users, companies, workers, rounds = 6, 3, 8, 12
	for i := range users / 2 { // the existing half
		in := &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%d", i), Attributes: userdata.Attributes{"old": true}}
		if _, _, err := stores[0].UpsertUser(ctx, tn, in); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%2]
			for r := range rounds {
				errs <- upsertRound(ctx, s, tn, w, r, users, companies)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent upsert: %v", err)
		}
	}
	checkTwoStores(t, stores[1], tn, users, companies, workers, rounds)
	t.Logf("%d transactions retried", strings.Count(logs.String(), "retrying transaction"))
}

// roundKey is the attribute key worker w writes in round r.
func roundKey(w, r int) string { return fmt.Sprintf("w%d_r%d", w, r) }

// roundUser is the user worker w upserts in round r.
func roundUser(w, r, users int) string { return fmt.Sprintf("u%d", (w+r)%users) }

// viaCompanies reports whether round r links the companies through the
// companies path (no membership attributes) rather than memberships.
func viaCompanies(r int) bool { return r%3 == 2 }

// upsertRound upserts worker w's user of round r with its own key, linked
// to every company, in an order that alternates between rounds.
func upsertRound(ctx context.Context, s *postgres.Store, tn userdata.Tenant, w, r, users, companies int) error {
	k := roundKey(w, r)
	in := &userdata.UserUpsert{ExternalID: roundUser(w, r, users), Attributes: userdata.Attributes{k: float64(r)}}
	for j := range companies {
		if (w+r)%2 == 1 {
			j = companies - 1 - j
		}
		co := userdata.CompanyUpsert{ExternalID: fmt.Sprintf("c%d", j), Attributes: userdata.Attributes{k: float64(w)}}
		if viaCompanies(r) {
			in.Companies = append(in.Companies, co)
		} else {
			in.Memberships = append(in.Memberships, userdata.MembershipUpsert{Company: co, Attributes: userdata.Attributes{k: true}})
		}
	}
	_, _, err := s.UpsertUser(ctx, tn, in)
	return err
}

// checkTwoStores checks that every write of TestTwoStores is stored once.
func checkTwoStores(t *testing.T, s *postgres.Store, tn userdata.Tenant, users, companies, workers, rounds int) {
	t.Helper()
	ctx := t.Context()
	ul, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 100}})
	if err != nil || len(ul.Items) != users {
		t.Fatalf("ListUsers: %d users, %v; want %d", len(ul.Items), err, users)
	}
	cl, err := s.ListCompanies(ctx, tn, userdata.CompanyFilter{PageRequest: userdata.PageRequest{Limit: 100}})
	if err != nil || len(cl.Items) != companies {
		t.Fatalf("ListCompanies: %d companies, %v; want %d", len(cl.Items), err, companies)
	}
	stored := map[string]map[string]any{} // "user", "company/membership" -> attributes
	for _, u := range ul.Items {
		full, err := s.GetUser(ctx, tn, u.ExternalID, userdata.ExpandMemberships|userdata.ExpandMembershipCompany)
		if err != nil {
			t.Fatal(err)
		}
		stored[u.ExternalID] = decode(t, full.Attributes)
		if len(full.Memberships) != companies {
			t.Errorf("user %s has %d memberships, want %d", u.ExternalID, len(full.Memberships), companies)
		}
		for _, m := range full.Memberships {
			stored[m.Company.ExternalID+"/"+u.ExternalID] = decode(t, m.Attributes)
			stored[m.Company.ExternalID] = decode(t, m.Company.Attributes)
		}
	}
	for w := range workers {
		for r := range rounds {
			k, u := roundKey(w, r), roundUser(w, r, users)
			if stored[u][k] != float64(r) {
				t.Errorf("user %s lost %s: %v", u, k, stored[u])
			}
			for j := range companies {
				c := fmt.Sprintf("c%d", j)
				if stored[c][k] != float64(w) {
					t.Errorf("company %s lost %s", c, k)
				}
				if _, ok := stored[c+"/"+u][k]; ok == viaCompanies(r) {
					t.Errorf("membership %s/%s: key %s present = %t, want %t", c, u, k, ok, !viaCompanies(r))
				}
			}
		}
	}
	for i := range users / 2 {
		if u := fmt.Sprintf("u%d", i); stored[u]["old"] != true {
			t.Errorf("user %s lost the attribute it had before: %v", u, stored[u])
		}
	}
}

func decode(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("attributes %s: %v", raw, err)
	}
	return m
}

// TestDeadlockRetry closes a lock cycle between an upsert and an outside
// transaction. PostgreSQL aborts the upsert's transaction, which started
// waiting first; the store must run it again and succeed.
func TestDeadlockRetry(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs backendtest.Buffer
	s := openConfig(t, cfg.Copy(), debugLogger(&logs), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	two := func(a, b userdata.Attributes) *userdata.UserUpsert {
		return &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "a", Attributes: a}, {ExternalID: "b", Attributes: b}}}
	}
	if _, _, err := s.UpsertUser(ctx, tn, two(nil, nil)); err != nil {
		t.Fatal(err)
	}
	tx, pid := outsideTx(t, cfg)
	lock := func(company string) error {
		_, err := tx.Exec(ctx, "UPDATE companies SET attributes = attributes WHERE external_id = $1", company)
		return err
	}
	if err := lock("b"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.UpsertUser(ctx, tn, two(userdata.Attributes{"x": 1.0}, userdata.Attributes{"y": 2.0}))
		done <- err
	}()
	waitBlockedBy(t, cfg, pid) // the upsert holds a and waits for b
	victim := lock("a")        // closes the cycle
	if victim == nil {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("UpsertUser in a deadlock: %v", err)
	}
	if victim == nil && strings.Count(logs.String(), "retrying transaction") == 0 {
		t.Error("the upsert succeeded although the outside transaction was not the deadlock victim, without a retry")
	}
	if victim != nil {
		t.Logf("the outside transaction was the deadlock victim (%v); the retry path was not exercised", victim)
	}
	a, _ := s.GetCompany(ctx, tn, "a", 0)
	b, _ := s.GetCompany(ctx, tn, "b", 0)
	if decode(t, a.Attributes)["x"] != 1.0 || decode(t, b.Attributes)["y"] != 2.0 {
		t.Errorf("after the retried upsert: a %s, b %s", a.Attributes, b.Attributes)
	}
}

// TestTrackEventRacesDelete tracks events for a user and a company that
// another transaction is deleting: once that commits, the event is 404,
// never a foreign-key violation (500).
func TestTrackEventRacesDelete(t *testing.T) {
	for _, tc := range []struct {
		table, id string
		resource  string
	}{{"users", "u", userdata.ResourceUser}, {"companies", "c", userdata.ResourceCompany}} {
		t.Run(tc.table, func(t *testing.T) {
			cfg := backendtest.PostgresConfig(t)
			s := openConfig(t, cfg.Copy(), discard(), postgres.Options{Migrate: true})
			ctx := t.Context()
			tn := storetest.Tenant(t, s, "p", "e")
			if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Companies: []userdata.CompanyUpsert{{ExternalID: "c"}}}); err != nil {
				t.Fatal(err)
			}
			tx, pid := outsideTx(t, cfg)
			if _, err := tx.Exec(ctx, "DELETE FROM "+tc.table+" WHERE external_id = $1", tc.id); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := s.TrackEvent(ctx, tn, &userdata.EventInput{Name: "signed_in", UserID: "u", CompanyID: "c"})
				done <- err
			}()
			waitBlockedBy(t, cfg, pid)
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			err := <-done
			wantCode(t, "TrackEvent", err, userdata.CodeNotFound)
			var ue *userdata.Error
			if errors.As(err, &ue) && ue.Resource != tc.resource {
				t.Errorf("TrackEvent: not found %s, want %s", ue.Resource, tc.resource)
			}
		})
	}
}

// TestImportTimestamps checks that each line of an import is stamped when
// it is applied, as separate upserts would be (and as on SQLite), so that
// newest first lists an import's rows last line first.
func TestImportTimestamps(t *testing.T) {
	s := openConfig(t, backendtest.PostgresConfig(t), discard(), postgres.Options{Migrate: true})
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	var ins []*userdata.UserUpsert
	for _, id := range []string{"a", "b", "c"} {
		ins = append(ins, &userdata.UserUpsert{ExternalID: id})
	}
	for _, r := range s.ImportUsers(ctx, tn, ins) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 10, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range l.Items {
		got = append(got, u.ExternalID)
	}
	if strings.Join(got, ",") != "c,b,a" {
		t.Errorf("newest first after an import: %v, want c,b,a", got)
	}
}

// outsideTx begins a transaction on a connection of its own, outside any
// store, and returns it with the connection's backend pid. It is rolled
// back, unless committed, and closed when the test ends.
func outsideTx(t *testing.T, cfg *pgxpool.Config) (pgx.Tx, uint32) {
	t.Helper()
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx, conn.PgConn().PID()
}

// waitBlockedBy waits until some session waits for a lock held by pid.
func waitBlockedBy(t *testing.T, cfg *pgxpool.Config, pid uint32) {
	t.Helper()
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for range 500 {
		var n int
		err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))", int32(pid)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no session ever waited for the outside transaction")
}

// TestUnstorableText checks values PostgreSQL text cannot hold (NUL, invalid
// UTF-8): lookups by them find nothing, as in any backend, and writes of
// them are invalid input rather than internal errors. A very long email
// still works with the email filter's prefix index.
func TestUnstorableText(t *testing.T) {
	s := backendtest.Postgres.Open(t)
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	for _, id := range []string{"a\x00b", "\xff"} {
		_, err := s.GetUser(ctx, tn, id, 0)
		wantCode(t, fmt.Sprintf("GetUser(%q)", id), err, userdata.CodeNotFound)
		wantCode(t, fmt.Sprintf("DeleteCompany(%q)", id), s.DeleteCompany(ctx, tn, id), userdata.CodeNotFound)
		_, err = s.DeleteMembership(ctx, tn, id, id)
		wantCode(t, fmt.Sprintf("DeleteMembership(%q)", id), err, userdata.CodeNotFound)
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 5}, Email: id, CompanyID: id})
		if err != nil || len(l.Items) != 0 {
			t.Errorf("ListUsers(email %q) = %v, %v; want an empty page", id, l, err)
		}
		_, err = s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 5, Cursor: id}})
		wantCode(t, fmt.Sprintf("cursor %q", id), err, userdata.CodeInvalidCursor)
		wantCode(t, fmt.Sprintf("RevokeKey(%q)", id), s.RevokeKey(ctx, id), userdata.CodeNotFound)
	}
	_, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "a\x00b"})
	wantCode(t, "UpsertUser(NUL id)", err, userdata.CodeInvalid)
	_, _, err = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: userdata.Attributes{"k": "a\x00b"}})
	wantCode(t, "UpsertUser(NUL value)", err, userdata.CodeInvalid)

	b := make([]byte, 6000)
	rand.Read(b)
	email := hex.EncodeToString(b) + "@example.com" // far over a btree entry's limit, and incompressible
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "long", Attributes: userdata.Attributes{"email": email}}); err != nil {
		t.Fatalf("UpsertUser with a %d-byte email: %v", len(email), err)
	}
	l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 5}, Email: email})
	if err != nil || len(l.Items) != 1 || l.Items[0].ExternalID != "long" {
		t.Errorf("ListUsers(long email) = %v, %v; want the user", l, err)
	}
}

func wantCode(t *testing.T, what string, err error, code userdata.Code) {
	t.Helper()
	if got := userdata.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// TestSharedWriteFailure queues writes behind a write that waits for a row
// lock, so that they share one transaction, with one write in the group
// that PostgreSQL rejects. The shared transaction fails; each write must
// then run alone, so that only the bad one fails.
func TestSharedWriteFailure(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs backendtest.Buffer
	s := openConfig(t, cfg.Copy(), debugLogger(&logs), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	g := holdLane(t, cfg, s, tn)
	const n, bad = 8, 5
	errs := make([]error, n)
	for i := range n {
		value := any(float64(i))
		if i == bad {
			value = "a\x00b" // jsonb cannot hold it
		}
		g.queue(t, func() {
			_, _, errs[i] = s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: fmt.Sprint("g", i), Attributes: userdata.Attributes{"v": value}})
		})
	}
	g.open(t)
	g.wait()
	for i, err := range errs {
		id := fmt.Sprint("g", i)
		u, gerr := s.GetUser(ctx, tn, id, 0)
		if i == bad {
			wantCode(t, "the bad write", err, userdata.CodeInvalid)
			wantCode(t, "GetUser after the bad write", gerr, userdata.CodeNotFound)
			continue
		}
		if err != nil || gerr != nil {
			t.Errorf("%s: upsert error %v, get error %v", id, err, gerr)
			continue
		}
		if v := decode(t, u.Attributes)["v"]; v != float64(i) {
			t.Errorf("%s: v = %v, want %d", id, v, i)
		}
	}
	if got := strings.Count(logs.String(), "retrying transaction"); got != n {
		t.Errorf("%d writes ran again alone, want all %d of the failed group", got, n)
	}
}

// lane holds the only lane of a store with an upsert that waits for an
// outside lock, so that the writes started meanwhile queue, and then run
// as one group.
type lane struct {
	tx     pgx.Tx
	s      *postgres.Store
	wg     sync.WaitGroup
	queued int
}

// holdLane sets s to one lane and holds it.
func holdLane(t *testing.T, cfg *pgxpool.Config, s *postgres.Store, tn userdata.Tenant) *lane {
	t.Helper()
	postgres.SetLanes(s, 1)
	ctx := t.Context()
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "blocker"}); err != nil {
		t.Fatal(err)
	}
	tx, pid := outsideTx(t, cfg)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM users WHERE external_id = 'blocker' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	l := &lane{tx: tx, s: s}
	l.wg.Go(func() {
		if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "blocker", Attributes: userdata.Attributes{"n": 1.0}}); err != nil {
			t.Errorf("the blocked upsert: %v", err)
		}
	})
	waitBlockedBy(t, cfg, pid)
	return l
}

// queue starts write, which must make one write, and waits until it queues.
func (l *lane) queue(t *testing.T, write func()) {
	t.Helper()
	l.wg.Go(write)
	l.queued++
	for postgres.QueuedWrites(l.s) != l.queued {
		time.Sleep(time.Millisecond)
	}
}

// open lets the blocked upsert finish: the queued writes then run as one
// group.
func (l *lane) open(t *testing.T) {
	t.Helper()
	if err := l.tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// wait waits for every write started.
func (l *lane) wait() { l.wg.Wait() }

// TestLockOrder checks that a group of writes takes its locks in the one
// order every write transaction uses: while it waits for the first row in
// that order, it holds none of the others, so an outside transaction gets
// them at once. In any other order the group would hold some of them, and
// two such transactions could deadlock, which costs a second
// (deadlock_timeout) before PostgreSQL breaks it.
func TestLockOrder(t *testing.T) {
	insertDef := func(key string) string {
		return fmt.Sprintf(`INSERT INTO attribute_definitions (id, project_id, scope, code_name, display_name, data_type, predefined, created_at)
			SELECT '%s', project_id, %d, '%s', '%s', 2, false, now() FROM environments LIMIT 1`, key, userdata.ScopeUser, key, key)
	}
	lockRows := func(rows ...string) (stmts []string) {
		for _, r := range rows {
			table, id, _ := strings.Cut(r, ":")
			stmts = append(stmts, fmt.Sprintf("SELECT 1 FROM %s WHERE external_id = '%s' FOR UPDATE", table, id))
		}
		return stmts
	}
	for _, tc := range []struct {
		name  string
		first []string // the outside transaction takes these, and the group waits
		rest  []string // then these, which the group must not hold
	}{
		// In write order, the group would hold users a and b and company
		// c2 while it waits for c1.
		{"rows", lockRows("companies:c1"), lockRows("companies:c2", "users:a", "users:b")},
		// In write order, the group would hold k2 (a's) while it waits for
		// k1 (b's): new definitions are inserted last, in key order.
		{"definitions", []string{insertDef("k1")}, []string{insertDef("k2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := backendtest.PostgresConfig(t)
			var logs backendtest.Buffer
			s := openConfig(t, cfg.Copy(), debugLogger(&logs), postgres.Options{Migrate: true})
			ctx := t.Context()
			tn := storetest.Tenant(t, s, "p", "e")
			for _, id := range []string{"a", "b"} {
				if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: id, Companies: []userdata.CompanyUpsert{{ExternalID: "c1"}, {ExternalID: "c2"}}}); err != nil {
					t.Fatal(err)
				}
			}
			g := holdLane(t, cfg, s, tn)
			writes := []*userdata.UserUpsert{
				{ExternalID: "a", Attributes: userdata.Attributes{"k2": 1.0}, Companies: []userdata.CompanyUpsert{{ExternalID: "c2", Attributes: userdata.Attributes{"n": 1.0}}}},
				{ExternalID: "b", Attributes: userdata.Attributes{"k1": 1.0}, Companies: []userdata.CompanyUpsert{{ExternalID: "c1", Attributes: userdata.Attributes{"n": 2.0}}}},
			}
			errs := make([]error, len(writes))
			for i, in := range writes {
				g.queue(t, func() { _, _, errs[i] = s.UpsertUser(ctx, tn, in) })
			}
			tx, pid := outsideTx(t, cfg)
			for _, q := range tc.first {
				if _, err := tx.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			g.open(t)
			waitBlockedBy(t, cfg, pid) // the group waits for what tx holds
			if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '500ms'"); err != nil {
				t.Fatal(err)
			}
			for _, q := range tc.rest {
				if _, err := tx.Exec(ctx, q); err != nil {
					t.Fatalf("the waiting group holds what comes after: %s: %v", q, err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			g.wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("write %d: %v", i, err)
				}
			}
			if strings.Contains(logs.String(), "retrying transaction") {
				t.Errorf("a write ran again: %s", logs.String())
			}
			for i, co := range []string{"c2", "c1"} {
				c, err := s.GetCompany(ctx, tn, co, 0)
				if err != nil || decode(t, c.Attributes)["n"] != float64(i+1) {
					t.Errorf("company %s after the group: %v %v", co, c, err)
				}
			}
		})
	}
}

func TestLookupGroup(t *testing.T) {
	s := backendtest.OpenPostgres(t, backendtest.PostgresConfig(t), postgres.Options{Migrate: true})
	ctx := t.Context()
	tn, other := storetest.Tenant(t, s, "p", "e"), storetest.Tenant(t, s, "p", "other")
	for _, u := range []string{"a", "b"} {
		if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: u, Attributes: userdata.Attributes{"user": u}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.UpsertCompany(ctx, tn, &userdata.CompanyUpsert{ExternalID: "a", Attributes: userdata.Attributes{"company": "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpsertUser(ctx, other, &userdata.UserUpsert{ExternalID: "c", Attributes: userdata.Attributes{"user": "c"}}); err != nil {
		t.Fatal(err)
	}
	gets := []postgres.Lookup{{false, "a"}, {true, "a"}, {false, "b"}, {false, "a"}, {true, "b"}, {false, "c"}, {false, "zz"}}
	want := []string{`{"user":"a"}`, `{"company":"a"}`, `{"user":"b"}`, `{"user":"a"}`, "", "", ""}
	found, err := postgres.LookupGroup(ctx, s, tn, gets)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range found {
		got := ""
		if f != nil {
			m := decode(t, f)
			delete(m, "first_seen_at")
			delete(m, "last_seen_at")
			b, _ := json.Marshal(m)
			got = string(b)
		}
		if got != want[i] {
			t.Errorf("get %v found %s, want %q", gets[i], got, want[i])
		}
	}
}
