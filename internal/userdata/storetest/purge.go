package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// purging is a store that can wait for the purge of deleted environments,
// as both backends' stores can.
type purging interface {
	AwaitPurge(ctx context.Context) error
}

// awaitPurge waits until s has no deleted environment left to purge.
func awaitPurge(t *testing.T, s userdata.Store) {
	t.Helper()
	p, ok := s.(purging)
	if !ok {
		t.Fatalf("%T has no AwaitPurge", s)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := p.AwaitPurge(ctx); err != nil {
		t.Fatalf("AwaitPurge: %v", err)
	}
}

// envData is what fillEnvironment wrote to an environment, as read back.
type envData struct {
	users, companies, events []string
	keys                     []string // key ids
}

// fillEnvironment writes users to the environment of tn, each a member of
// one of 50 companies, and events of the first 30.
func fillEnvironment(t *testing.T, s userdata.Store, tn userdata.Tenant, users int) {
	t.Helper()
	ctx := t.Context()
	var ins []*userdata.UserUpsert
	for i := range users {
		ins = append(ins, &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%05d", i), Attributes: userdata.Attributes{"i": float64(i)},
			Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: fmt.Sprintf("c%02d", i%50)},
				Attributes: userdata.Attributes{"role": "member"}}}})
	}
	for chunk := range slices.Chunk(ins, 1000) {
		for i, r := range s.ImportUsers(ctx, tn, chunk) {
			if r.Err != nil {
				t.Fatalf("ImportUsers(%s): %v", chunk[i].ExternalID, r.Err)
			}
		}
	}
	for i := range min(users, 30) {
		in := &userdata.EventInput{Name: "signed_up", UserID: fmt.Sprintf("u%05d", i), CompanyID: fmt.Sprintf("c%02d", i%50),
			Attributes: userdata.Attributes{"step": float64(i)}}
		if _, err := s.TrackEvent(ctx, tn, in); err != nil {
			t.Fatal(err)
		}
	}
}

// readEnvironment reads what the environment of tn holds: the external ids
// of its users, its companies with their member counts, its events' user
// and company, its keys.
func readEnvironment(t *testing.T, s userdata.Store, tn userdata.Tenant) envData {
	t.Helper()
	ctx := t.Context()
	var d envData
	for cursor := ""; ; {
		l, err := s.ListUsers(ctx, tn, userdata.UserFilter{PageRequest: page(userdata.MaxLimit, cursor)})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range l.Items {
			d.users = append(d.users, u.ExternalID)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	companies, err := s.ListCompanies(ctx, tn, userdata.CompanyFilter{PageRequest: page(userdata.MaxLimit, ""), Expand: userdata.ExpandMemberships})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range companies.Items {
		d.companies = append(d.companies, fmt.Sprintf("%s %d", c.ExternalID, len(c.Memberships)))
	}
	events, err := s.ListEvents(ctx, tn, userdata.EventFilter{PageRequest: page(userdata.MaxLimit, "")})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		d.events = append(d.events, e.UserID+"/"+e.CompanyID)
	}
	keys, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.EnvironmentID == tn.EnvironmentID {
			d.keys = append(d.keys, k.ID)
		}
	}
	return d
}

// empty reports whether d holds nothing.
func (d envData) empty() bool {
	return len(d.users)+len(d.companies)+len(d.events)+len(d.keys) == 0
}

// tenantOf creates a key for the environment and returns its tenant.
func tenantOf(t *testing.T, s userdata.Store, e *userdata.Environment) (userdata.Tenant, string) {
	t.Helper()
	_, hash, prefix := userdata.NewKey()
	if _, err := s.CreateKey(t.Context(), e.ProjectID, e.ID, hash, prefix); err != nil {
		t.Fatal(err)
	}
	tn, err := s.Authenticate(t.Context(), hash) // cached now
	if err != nil {
		t.Fatal(err)
	}
	return tn, hash
}

// DeleteEnvironment refuses the primary and unknown environments; a
// deleted one is gone at once from every lookup (its keys are refused
// even when cached), tokens listing it keep their other environments, and
// its rows are soon gone, the other environments' untouched.
func testDeleteEnvironment(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	gone, kept := createEnvironment(t, s, p.ID, "gone"), createEnvironment(t, s, p.ID, "kept")
	other := createProject(t, s, "q")
	goneTn, goneKey := tenantOf(t, s, gone)
	keptTn, keptKey := tenantOf(t, s, kept)
	fillEnvironment(t, s, goneTn, 120)
	fillEnvironment(t, s, keptTn, 120)
	goneData, keptData := readEnvironment(t, s, goneTn), readEnvironment(t, s, keptTn)
	if !slices.Equal(goneData.users, keptData.users) || !slices.Equal(goneData.companies, keptData.companies) || !slices.Equal(goneData.events, keptData.events) ||
		len(goneData.users) != 120 || len(goneData.companies) != 50 || len(goneData.events) != 30 || len(goneData.keys) != 1 {
		t.Fatalf("the two environments differ, or hold the wrong rows: %d and %d users, %d and %d companies, %d and %d events, %d and %d keys",
			len(goneData.users), len(keptData.users), len(goneData.companies), len(keptData.companies), len(goneData.events), len(keptData.events), len(goneData.keys), len(keptData.keys))
	}
	_, tokHash, tokPrefix := userdata.NewToken()
	tok := createToken(t, s, userdata.TokenInput{ProjectID: p.ID, Hash: tokHash, Prefix: tokPrefix, Scopes: userRead, Environments: []string{gone.ID, kept.ID}})
	if _, err := s.AuthenticateToken(ctx, tokHash); err != nil { // cached
		t.Fatal(err)
	}
	if _, err := s.Environment(ctx, gone.ID); err != nil { // cached
		t.Fatal(err)
	}

	err := s.DeleteEnvironment(ctx, p.ID, p.Environments[0].ID)
	wantCode(t, "DeleteEnvironment(primary)", err, userdata.CodePrimaryEnvironment, "")
	for name, ids := range map[string][2]string{
		"unknown":               {p.ID, "nope"},
		"another project's":     {p.ID, other.Environments[0].ID},
		"another project's own": {other.ID, gone.ID},
		"unstorable":            {p.ID, "a\x00"},
	} {
		err := s.DeleteEnvironment(ctx, ids[0], ids[1])
		wantCode(t, "DeleteEnvironment("+name+")", err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	}
	if err := s.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatalf("DeleteEnvironment: %v", err)
	}

	// Gone at once.
	_, err = s.Authenticate(ctx, goneKey)
	wantCode(t, "Authenticate(key of the deleted environment)", err, userdata.CodeForbidden, "")
	_, err = s.Environment(ctx, gone.ID)
	wantCode(t, "Environment(deleted)", err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	err = s.DeleteEnvironment(ctx, p.ID, gone.ID)
	wantCode(t, "DeleteEnvironment(deleted)", err, userdata.CodeNotFound, userdata.ResourceEnvironment)
	if names, _ := listEnvironments(t, s, p.ID, userdata.EnvironmentFilter{PageRequest: page(10, "")}); !slices.Equal(names, []string{"Production", "kept"}) {
		t.Errorf("ListEnvironments after a deletion: %v", names)
	}
	if projects, err := s.ListProjects(ctx); err != nil || len(projects[0].Environments) != 2 {
		t.Errorf("ListProjects after a deletion: %+v, %v", projects[0].Environments, err)
	}
	// Tokens listing it keep the others.
	if pr, err := s.AuthenticateToken(ctx, tokHash); err != nil || pr.TokenID != tok.ID || !pr.InScope(kept.ID) {
		t.Errorf("AuthenticateToken of a token listing the deleted environment: %+v, %v", pr, err)
	}
	if tokens, err := s.ListTokens(ctx, p.ID); err != nil || len(tokens) != 1 || tokens[0].ID != tok.ID {
		t.Errorf("ListTokens after a deletion: %+v, %v", tokens, err)
	}
	if _, err := s.Authenticate(ctx, keptKey); err != nil {
		t.Errorf("Authenticate(key of another environment): %v", err)
	}
	if e, err := s.Environment(ctx, kept.ID); err != nil || e.ID != kept.ID {
		t.Errorf("Environment(kept) = %+v, %v", e, err)
	}

	// Its rows go; the others stay.
	awaitPurge(t, s)
	if got := readEnvironment(t, s, goneTn); !got.empty() {
		t.Errorf("the deleted environment still holds %+v", got)
	}
	if _, err := s.GetUser(ctx, goneTn, "u00001", 0); !userdata.IsNotFound(err, userdata.ResourceUser) {
		t.Errorf("GetUser in the deleted environment: %v, want not found", err)
	}
	if _, err := s.GetCompany(ctx, goneTn, "c01", 0); !userdata.IsNotFound(err, userdata.ResourceCompany) {
		t.Errorf("GetCompany in the deleted environment: %v, want not found", err)
	}
	if got := readEnvironment(t, s, keptTn); !cmp.Equal(got, keptData, cmp.AllowUnexported(envData{})) {
		t.Errorf("the purge changed another environment:\n%+v\nwas\n%+v", got, keptData)
	}
	// Its id stays taken: keys create by its id is refused.
	_, hash2, prefix2 := userdata.NewKey()
	_, err = s.CreateKey(ctx, p.ID, gone.ID, hash2, prefix2)
	wantCode(t, "CreateKey(deleted environment by id)", err, userdata.CodeInvalid, "")
}

// Writes to other environments keep succeeding, never held up long, while
// a large environment is purged.
func testPurgeWhileWriting(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	big, busy := createEnvironment(t, s, p.ID, "big"), createEnvironment(t, s, p.ID, "busy")
	bigTn, _ := tenantOf(t, s, big)
	busyTn, _ := tenantOf(t, s, busy)
	users := 20000
	if testing.Short() {
		users = 2000
	}
	fillEnvironment(t, s, bigTn, users)

	var mu sync.Mutex
	var done []time.Time // when each write to busy was acknowledged
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				in := &userdata.UserUpsert{ExternalID: fmt.Sprintf("w%d-%d", w, i), Attributes: userdata.Attributes{"w": float64(w)},
					Memberships: []userdata.MembershipUpsert{{Company: userdata.CompanyUpsert{ExternalID: "acme"}}}}
				if _, _, err := s.UpsertUser(ctx, busyTn, in); err != nil {
					t.Errorf("UpsertUser to another environment during the purge: %v", err)
					return
				}
				mu.Lock()
				done = append(done, time.Now())
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := s.DeleteEnvironment(ctx, p.ID, big.ID); err != nil {
		t.Fatal(err)
	}
	awaitPurge(t, s)
	end := time.Now()
	close(stop)
	wg.Wait()

	mu.Lock()
	during := slices.DeleteFunc(slices.Clone(done), func(at time.Time) bool { return at.Before(start) || at.After(end) })
	mu.Unlock()
	gap, last := time.Duration(0), start
	for _, at := range append(during, end) {
		gap, last = max(gap, at.Sub(last)), at
	}
	t.Logf("purged %d users in %v; %d writes meanwhile, at most %v apart", users, end.Sub(start), len(during), gap)
	if gap > 2*time.Second {
		t.Errorf("writes to another environment stalled for %v during the purge", gap)
	}
	if got := readEnvironment(t, s, bigTn); !got.empty() {
		t.Errorf("the deleted environment still holds %d users, %d companies, %d events, %d keys", len(got.users), len(got.companies), len(got.events), len(got.keys))
	}
	l, err := s.ListUsers(ctx, busyTn, userdata.UserFilter{PageRequest: page(1, ""), CompanyID: "acme"})
	if err != nil || len(l.Items) != 1 {
		t.Errorf("the writes to another environment: %+v, %v", l, err)
	}
}

// PurgeResumes checks that a store that opens purges the environments
// deleted and left unpurged: one whose purge a closed store left
// unfinished, and one marked deleted behind the stores' backs while none
// was open (markDeleted, the backend's own SQL). open opens a new store on
// one database each time; its stores purge (on SQLite, they hold the
// server lock).
func PurgeResumes(t *testing.T, open func() userdata.Store, markDeleted func(envID string)) {
	ctx := t.Context()
	s := open()
	p := createProject(t, s, "p")
	unfinished, marked, kept := createEnvironment(t, s, p.ID, "unfinished"), createEnvironment(t, s, p.ID, "marked"), createEnvironment(t, s, p.ID, "kept")
	var tenants []userdata.Tenant
	for _, e := range []*userdata.Environment{unfinished, marked, kept} {
		tn, _ := tenantOf(t, s, e)
		fillEnvironment(t, s, tn, 3000)
		tenants = append(tenants, tn)
	}
	keptData := readEnvironment(t, s, tenants[2])
	if err := s.DeleteEnvironment(ctx, p.ID, unfinished.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	markDeleted(marked.ID)
	s = open()
	awaitPurge(t, s)
	for i, tn := range tenants[:2] {
		if got := readEnvironment(t, s, tn); !got.empty() {
			t.Errorf("deleted environment %d still holds %d users, %d companies, %d events, %d keys", i, len(got.users), len(got.companies), len(got.events), len(got.keys))
		}
	}
	if got := readEnvironment(t, s, tenants[2]); !cmp.Equal(got, keptData, cmp.AllowUnexported(envData{})) {
		t.Errorf("the purge changed another environment")
	}
}

// PurgeGrace checks, on a store whose purge grace is grace (a second or
// more), that a row written to a deleted environment after its rows were
// removed, by a request authenticated before the deletion, is removed too
// before the purge is done.
func PurgeGrace(t *testing.T, s userdata.Store, grace time.Duration) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	e := createEnvironment(t, s, p.ID, "e")
	tn, _ := tenantOf(t, s, e)
	user(t, s, tn, "early", `{}`)
	deleted := time.Now()
	if err := s.DeleteEnvironment(ctx, p.ID, e.ID); err != nil {
		t.Fatal(err)
	}
	for !readEnvironment(t, s, tn).empty() {
		time.Sleep(5 * time.Millisecond)
	}
	if time.Since(deleted) > grace/2 {
		t.Skipf("the rows took %v to go: too slow to write within the grace of %v", time.Since(deleted), grace)
	}
	user(t, s, tn, "late", `{}`) // with the tenant of a key authenticated before the deletion
	awaitPurge(t, s)
	if time.Since(deleted) < grace {
		t.Errorf("the purge was done %v after the deletion, within the grace of %v", time.Since(deleted), grace)
	}
	if got := readEnvironment(t, s, tn); !got.empty() {
		t.Errorf("the deleted environment still holds %+v", got)
	}
}
