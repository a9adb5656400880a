package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

func createWebhook(t *testing.T, s userdata.Store, tn userdata.Tenant, in userdata.WebhookInput) *userdata.Webhook {
	t.Helper()
	if err := in.Validate(); err != nil {
		t.Fatalf("test input %+v is invalid: %v", in, err)
	}
	wh, err := s.CreateWebhook(t.Context(), tn, &in)
	if err != nil {
		t.Fatalf("CreateWebhook(%+v): %v", in, err)
	}
	return wh
}

// hook is a webhook input to url with a plaintext secret.
func hook(url string) userdata.WebhookInput {
	return userdata.WebhookInput{URL: url, Topics: []string{"*"}, Enabled: true, Secret: "whsec_" + url}
}

// listWebhooks returns every webhook of tn's environment, walking pages
// of limit, and fails the test unless each page links the next and
// previous ones.
func listWebhooks(t *testing.T, s userdata.Store, tn userdata.Tenant, limit int) []*userdata.Webhook {
	t.Helper()
	var out []*userdata.Webhook
	p := page(limit, "")
	for i := 0; ; i++ {
		l, err := s.ListWebhooks(t.Context(), tn, p)
		if err != nil {
			t.Fatalf("ListWebhooks(%+v): %v", p, err)
		}
		if i > 0 && l.Prev == userdata.PrevNone {
			t.Errorf("ListWebhooks(%+v): page %d has no previous link", p, i)
		}
		out = append(out, l.Items...)
		if p.Cursor = l.NextCursor; p.Cursor == "" {
			return out
		}
	}
}

// Webhooks are created, read, changed and deleted by id within their
// environment; every field reads back as written, topics in their order,
// an empty description as none, the secret in its stored form.
func testWebhookCRUD(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	in := userdata.WebhookInput{URL: "https://hooks.example.com/in?x=1", Topics: []string{"user", "event.tracked.page_viewed", "*"},
		Enabled: true, Description: "CRM sync é", Secret: "enc1:0a1b2c3d:c2VhbGVk"}
	wh := createWebhook(t, s, tn, in)
	want := &userdata.Webhook{ID: wh.ID, EnvironmentID: tn.EnvironmentID, URL: in.URL, Topics: in.Topics, Enabled: true,
		Description: in.Description, Secret: in.Secret, CreatedAt: wh.CreatedAt}
	if diff := cmp.Diff(want, wh); diff != "" || wh.ID == "" || wh.CreatedAt.IsZero() {
		t.Errorf("CreateWebhook (-want +got):\n%s", diff)
	}
	if got, err := s.GetWebhook(ctx, tn, wh.ID); err != nil || !cmp.Equal(got, wh) {
		t.Errorf("GetWebhook = %+v, %v; want %+v", got, err, wh)
	}
	disabled := createWebhook(t, s, tn, userdata.WebhookInput{URL: "http://10.0.0.1/", Topics: []string{"company.deleted"}, Secret: "whsec_1"})
	if disabled.Enabled || disabled.Description != "" {
		t.Errorf("CreateWebhook(disabled, no description) = %+v", disabled)
	}

	// Changes, each read back.
	for _, u := range []userdata.WebhookUpdate{
		{},
		{Description: ptr("")},
		{URL: ptr("https://hooks.example.com/v2"), Topics: []string{"membership", "user.created"}},
		{Enabled: ptr(false), Description: ptr("Paused")},
		{Secret: ptr("whsec_rotated")},
		{Enabled: ptr(true)},
	} {
		got, err := s.UpdateWebhook(ctx, tn, wh.ID, &u)
		if err != nil {
			t.Fatalf("UpdateWebhook(%+v): %v", u, err)
		}
		if want := wh.Apply(&u); !cmp.Equal(got, want) {
			t.Errorf("UpdateWebhook(%+v) = %+v, want %+v", u, got, want)
		}
		if read, err := s.GetWebhook(ctx, tn, wh.ID); err != nil || !cmp.Equal(read, got) {
			t.Errorf("GetWebhook after UpdateWebhook(%+v) = %+v, %v; want %+v", u, read, err, got)
		}
		wh = got
	}

	// Another environment's, or nobody's.
	for name, id := range map[string]string{"unknown": "nope", "unstorable": "a\x00", "external": ""} {
		_, err := s.GetWebhook(ctx, tn, id)
		wantCode(t, "GetWebhook("+name+")", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	}
	_, err := s.GetWebhook(ctx, other, wh.ID)
	wantCode(t, "GetWebhook(another environment's)", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	_, err = s.UpdateWebhook(ctx, other, wh.ID, &userdata.WebhookUpdate{Enabled: ptr(false)})
	wantCode(t, "UpdateWebhook(another environment's)", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	wantCode(t, "DeleteWebhook(another environment's)", s.DeleteWebhook(ctx, other, wh.ID), userdata.CodeNotFound, userdata.ResourceWebhook)
	wantCode(t, "DeleteWebhook(unstorable)", s.DeleteWebhook(ctx, tn, "a\x00"), userdata.CodeNotFound, userdata.ResourceWebhook)
	if got, err := s.GetWebhook(ctx, tn, wh.ID); err != nil || !cmp.Equal(got, wh) {
		t.Errorf("GetWebhook after refused changes = %+v, %v; want %+v", got, err, wh)
	}

	if err := s.DeleteWebhook(ctx, tn, wh.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	_, err = s.GetWebhook(ctx, tn, wh.ID)
	wantCode(t, "GetWebhook(deleted)", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	wantCode(t, "DeleteWebhook(deleted)", s.DeleteWebhook(ctx, tn, wh.ID), userdata.CodeNotFound, userdata.ResourceWebhook)
	_, err = s.UpdateWebhook(ctx, tn, wh.ID, &userdata.WebhookUpdate{})
	wantCode(t, "UpdateWebhook(deleted)", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	if got := listWebhooks(t, s, tn, 10); len(got) != 1 || got[0].ID != disabled.ID {
		t.Errorf("ListWebhooks after a deletion: %+v", got)
	}
}

// webhookBreaker is a store whose tests can set a webhook's breaker, as
// both backends' can (export_test.go): deliveries will.
type webhookBreaker interface {
	BreakWebhook(ctx context.Context, id string, failures int, at time.Time) error
}

// The breaker's state reads back; a change keeps it, but a new URL
// resets the breaker and enabling the webhook again also clears
// AutoDisabledAt.
func testWebhookBreaker(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	b, ok := s.(webhookBreaker)
	if !ok {
		t.Fatalf("%T has no BreakWebhook", s)
	}
	wh := createWebhook(t, s, tn, hook("https://a.example.com/"))
	at := time.Date(2026, 5, 1, 10, 0, 0, 123456000, time.UTC)
	if err := b.BreakWebhook(ctx, wh.ID, 214, at); err != nil {
		t.Fatal(err)
	}
	broken, err := s.GetWebhook(ctx, tn, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	until := at.Add(time.Hour)
	want := *wh
	want.Enabled, want.ConsecutiveFailures, want.CooldownUntil, want.AutoDisabledAt, want.FailingSince = false, 214, &until, &at, &at
	if diff := cmp.Diff(&want, broken); diff != "" {
		t.Fatalf("GetWebhook of a broken webhook (-want +got):\n%s", diff)
	}
	if l := listWebhooks(t, s, tn, 10); len(l) != 1 || !cmp.Equal(l[0], broken) {
		t.Errorf("ListWebhooks of a broken webhook: %+v, want %+v", l, broken)
	}
	for _, u := range []userdata.WebhookUpdate{
		{Description: ptr("kept"), Topics: []string{"user"}, Enabled: ptr(false)},
		{URL: ptr("https://b.example.com/")},
		{Enabled: ptr(true)},
	} {
		got, err := s.UpdateWebhook(ctx, tn, wh.ID, &u)
		if err != nil {
			t.Fatal(err)
		}
		if want := broken.Apply(&u); !cmp.Equal(got, want) {
			t.Errorf("UpdateWebhook(%+v) = %+v, want %+v", u, got, want)
		}
		if read, err := s.GetWebhook(ctx, tn, wh.ID); err != nil || !cmp.Equal(read, got) {
			t.Errorf("GetWebhook after UpdateWebhook(%+v) = %+v, %v; want %+v", u, read, err, got)
		}
		broken = got
	}
	if broken.ConsecutiveFailures != 0 || broken.CooldownUntil != nil || broken.AutoDisabledAt != nil || broken.FailingSince != nil || !broken.Enabled {
		t.Errorf("enabled again: %+v, want a clear breaker", broken)
	}
}

// An environment's webhooks are listed oldest first, page after page;
// another environment's are not among them; a cursor that is no webhook
// of the environment is CodeInvalidCursor.
func testListWebhooks(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	other := Tenant(t, s, "p", "other")
	var want []string
	for i := range 7 {
		want = append(want, createWebhook(t, s, tn, hook(fmt.Sprintf("https://h%d.example.com/", i))).ID)
		createWebhook(t, s, other, hook(fmt.Sprintf("https://o%d.example.com/", i)))
	}
	for _, limit := range []int{1, 3, 7, 100} {
		var got []string
		for _, wh := range listWebhooks(t, s, tn, limit) {
			got = append(got, wh.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListWebhooks by %d: %v, want %v", limit, got, want)
		}
	}
	if empty := listWebhooks(t, s, Tenant(t, s, "p", "empty"), 10); len(empty) != 0 {
		t.Errorf("ListWebhooks of an environment without webhooks: %+v", empty)
	}
	ol, err := s.ListWebhooks(ctx, other, page(1, ""))
	if err != nil {
		t.Fatal(err)
	}
	for name, cursor := range map[string]string{"unknown": "nope", "last": want[6], "another environment's": ol.Items[0].ID, "unstorable": "a\x00"} {
		_, err := s.ListWebhooks(ctx, tn, page(2, cursor))
		wantCode(t, "ListWebhooks(cursor "+name+")", err, userdata.CodeInvalidCursor, "")
	}
}

// A deleted environment's webhooks are purged with its rows; the other
// environments keep theirs.
func testWebhooksPurge(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	gone, kept := createEnvironment(t, s, p.ID, "gone"), createEnvironment(t, s, p.ID, "kept")
	goneTn, _ := tenantOf(t, s, gone)
	keptTn, _ := tenantOf(t, s, kept)
	for i := range 3 {
		createWebhook(t, s, goneTn, hook(fmt.Sprintf("https://g%d.example.com/", i)))
	}
	keptHook := createWebhook(t, s, keptTn, hook("https://k.example.com/"))
	if err := s.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	awaitPurge(t, s)
	if got := listWebhooks(t, s, goneTn, 10); len(got) != 0 {
		t.Errorf("the deleted environment still has %d webhooks", len(got))
	}
	if got := listWebhooks(t, s, keptTn, 10); len(got) != 1 || !cmp.Equal(got[0], keptHook) {
		t.Errorf("webhooks of another environment after the purge: %+v, want %+v", got, keptHook)
	}
}
