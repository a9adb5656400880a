package sqlite

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

func openExclusive(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Exclusive: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTenant opens an Exclusive store in a new file, with one project, and
// returns the tenant of its primary environment.
func openTenant(t *testing.T) (*Store, userdata.Tenant) {
	t.Helper()
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	p, err := s.CreateProject(t.Context(), "p")
	if err != nil {
		t.Fatal(err)
	}
	return s, userdata.Tenant{ProjectID: p.ID, EnvironmentID: p.Environments[0].ID}
}

// Writes that fail after changing rows roll back in the database and leave
// no trace in the cache, even when they share a batch with writes that
// succeed: whether they fail with an error of their own, or with a domain
// error after a change. Deletes of missing rows, failing without a change,
// share the batches too.
func TestFailedWritesLeaveNoTrace(t *testing.T) {
	for _, fail := range []error{errors.New("boom"), userdata.NotFound(userdata.ResourceMembership)} {
		t.Run(fail.Error(), func(t *testing.T) { failedWritesLeaveNoTrace(t, fail) })
	}
}

func failedWritesLeaveNoTrace(t *testing.T, fail error) {
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			err := s.DeleteUser(ctx, tn, fmt.Sprint("missing", i))
			if !userdata.IsNotFound(err, userdata.ResourceUser) {
				t.Errorf("delete of a missing user: %v", err)
			}
		})
		wg.Go(func() {
			err := s.write(ctx, func(w *wtx) error {
				a := userdata.Attributes{fmt.Sprintf("k%d", i): float64(i)}
				if _, _, err := usersTable.upsert(w, tn, "u", a, nil); err != nil {
					return err
				}
				if _, _, err := companiesTable.upsert(w, tn, fmt.Sprintf("c%d", i), nil, nil); err != nil {
					return err
				}
				if i%2 == 1 {
					return fail
				}
				return nil
			})
			if (i%2 == 1) != errors.Is(err, fail) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	check := func(what string, attrs []byte) {
		for i := range 100 {
			has := strings.Contains(string(attrs), fmt.Sprintf(`"k%d":`, i))
			if has != (i%2 == 0) {
				t.Errorf("%s: k%d present = %t: %s", what, i, has, attrs)
			}
		}
	}
	u, err := s.GetUser(ctx, tn, "u", 0)
	if err != nil {
		t.Fatal(err)
	}
	check("cached read", u.Attributes)
	e, err := usersTable.get(ctx, s.r, tn.EnvironmentID, "u")
	if err != nil {
		t.Fatal(err)
	}
	check("database", e.attributes)
	for i := range 100 {
		_, err := s.GetCompany(ctx, tn, fmt.Sprintf("c%d", i), 0)
		if (err == nil) != (i%2 == 0) {
			t.Errorf("company c%d: %v", i, err)
		}
	}
}

// Only one server may hold a database; key commands need no lock.
func TestServerLock(t *testing.T) {
	defer func(d time.Duration) { lockWait = d }(lockWait)
	lockWait = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "tourd.db")
	openExclusive(t, path)
	if _, err := Open(t.Context(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{Exclusive: true}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second exclusive Open: %v, want an in-use error", err)
	}
	s, err := Open(t.Context(), path, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	if err != nil {
		t.Fatalf("non-exclusive Open beside a server: %v", err)
	}
	s.Close()
}

// The cache stays within its bounds, whatever the rows' sizes.
func TestRowCacheBounds(t *testing.T) {
	c := newRowCache()
	big := &entity{id: "big", attributes: make([]byte, maxCachedRowBytes+1)}
	c.put(rowKey{usersTable, "e", "big"}, big)
	if e, _ := c.get(rowKey{usersTable, "e", "big"}); e != nil {
		t.Error("a row over maxCachedRowBytes was cached")
	}
	row := &entity{id: "r", attributes: make([]byte, maxCachedRowBytes/2)}
	for i := range 1000 {
		c.put(rowKey{usersTable, "e", fmt.Sprint(i)}, row)
		if c.bytes > maxCachedBytes || len(c.m) > maxCachedRows {
			t.Fatalf("after %d rows: %d bytes in %d rows", i+1, c.bytes, len(c.m))
		}
	}
	sum := 0
	for _, e := range c.m {
		sum += e.size()
	}
	if sum != c.bytes || len(c.m) == 0 {
		t.Errorf("accounted %d bytes, rows hold %d (%d rows)", c.bytes, sum, len(c.m))
	}
}

// The cache of known definitions forgets everything past its bound, and
// definitions keep being created correctly.
func TestDefinitionCacheBound(t *testing.T) {
	defer func(n int) { userdata.MaxCachedDefinitions = n }(userdata.MaxCachedDefinitions)
	userdata.MaxCachedDefinitions = 10
	s := openExclusive(t, filepath.Join(t.TempDir(), "tourd.db"))
	ctx := t.Context()
	tn := storetest.Tenant(t, s, "p", "e")
	for i := range 30 {
		a := userdata.Attributes{fmt.Sprintf("k%d", i): 1.0}
		if _, _, err := s.UpsertUser(ctx, tn, &userdata.UserUpsert{ExternalID: "u", Attributes: a}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.ListAttributeDefinitions(ctx, tn, userdata.AttributeDefinitionFilter{PageRequest: userdata.PageRequest{Limit: 100,
		Sort: []userdata.Sort{{Field: userdata.SortCodeName}}}, Scope: userdata.ScopeUser})
	if err != nil || len(l.Items) != 6+30 {
		t.Fatalf("%d user definitions, %v; want 36", len(l.Items), err)
	}
	s.Close() // the writer, which owns the cache, has stopped
	if len(s.defs) > userdata.MaxCachedDefinitions+1 {
		t.Errorf("%d definitions cached, bound %d", len(s.defs), userdata.MaxCachedDefinitions)
	}
}
