package postgres_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tourd/internal/backendtest"
	"tourd/internal/postgres"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
)

func TestPurgeResumes(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	opts := postgres.Options{Migrate: true, PurgeGrace: backendtest.PurgeGrace}
	conn, err := pgx.ConnectConfig(t.Context(), cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	storetest.PurgeResumes(t, func() userdata.Store { return backendtest.OpenPostgres(t, cfg, opts) }, markDeleted(t, conn))
}

func TestPurgeGrace(t *testing.T) {
	const grace = time.Second
	s := backendtest.OpenPostgres(t, backendtest.PostgresConfig(t), postgres.Options{Migrate: true, PurgeGrace: grace})
	storetest.PurgeGrace(t, s, grace)
}

// Two stores purge one environment at once without harm: the one that
// deleted it, and the other, told by the notification.
func TestPurgeTwoStores(t *testing.T) {
	cfg := backendtest.PostgresConfig(t)
	var logs [2]backendtest.Buffer
	var stores [2]*postgres.Store
	for i := range stores {
		log := slog.New(slog.NewTextHandler(&logs[i], nil))
		stores[i] = openConfig(t, cfg, log, postgres.Options{Migrate: true, PurgeGrace: backendtest.PurgeGrace})
		waitFor(t, "the store to listen", func() bool { return postgres.Listening(stores[i]) })
	}
	a, b := stores[0], stores[1]
	p, err := a.CreateProject(t.Context(), "p")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := a.CreateEnvironment(t.Context(), p.ID, "gone")
	if err != nil {
		t.Fatal(err)
	}
	tn := storetest.Tenant(t, a, p.ID, gone.ID)
	var ins []*userdata.UserUpsert
	for i := range 10000 {
		ins = append(ins, &userdata.UserUpsert{ExternalID: fmt.Sprintf("u%05d", i), Companies: []userdata.CompanyUpsert{{ExternalID: "acme"}}})
	}
	for _, r := range a.ImportUsers(t.Context(), tn, ins) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if n, err := a.PruneChanges(t.Context(), time.Now().Add(time.Hour), 10); err != nil || n != 10 {
		t.Fatalf("PruneChanges = %d, %v", n, err)
	}
	if err := a.DeleteEnvironment(t.Context(), p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		if err := s.AwaitPurge(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := b.ListUsers(t.Context(), tn, userdata.UserFilter{PageRequest: userdata.PageRequest{Limit: 1}}); err != nil || len(l.Items) != 0 {
		t.Errorf("users left after the purge: %+v, %v", l, err)
	}
	// The purge removed the change log and the mark of its pruning.
	if p, err := b.Changes(t.Context(), gone.ID, userdata.ChangeQuery{Limit: 1, Types: userdata.AllChanges}); err != nil || len(p.Changes) != 0 || p.Next != "0-0" {
		t.Errorf("the change log after the purge: %+v, %v; want no change, from 0-0", p, err)
	}
	for i := range logs {
		out := logs[i].String()
		if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
			t.Errorf("store %d logged:\n%s", i, out)
		}
		t.Logf("store %d took part: %t", i, strings.Contains(out, "environment_id="+gone.ID))
	}
}
