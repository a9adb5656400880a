package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"tourd/internal/userdata"
)

// fanout returns the Fanout of webhook id among the active webhooks, nil
// when it is not among them.
func fanout(t *testing.T, s userdata.Store, id string) *userdata.Fanout {
	t.Helper()
	fs, err := s.ActiveWebhooks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Webhook.ID == id {
			return f
		}
	}
	return nil
}

// queue queues a message for each change after f's cursor, as the
// deliverer does (with a body that is the change's id), and returns
// their ids.
func queue(t *testing.T, s userdata.Store, f *userdata.Fanout, now time.Time) []string {
	t.Helper()
	p, err := s.Changes(t.Context(), f.Webhook.EnvironmentID, userdata.ChangeQuery{After: f.Cursor, Limit: 100, Types: userdata.AllChanges})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*userdata.Message
	var ids []string
	for _, c := range p.Changes {
		msgs = append(msgs, &userdata.Message{ID: c.ID, Type: c.Type, Body: []byte(`"` + c.ID + `"`)})
		ids = append(ids, c.ID)
	}
	moved, err := s.FanOut(t.Context(), f, p.Next, msgs, userdata.Queueing{LastAttempt: 3, Now: now})
	if err != nil || !moved {
		t.Fatalf("FanOut = %v, %v", moved, err)
	}
	f.Cursor = p.Next
	return ids
}

// deliveryPage is the first page of deliveries, newest first.
func deliveryPage(limit int, cursor string) userdata.PageRequest {
	return userdata.PageRequest{Limit: limit, Cursor: cursor, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}}, IDFollowsSort: true}
}

// deliveryIDs lists the ids of the deliveries of webhook id of status,
// newest first, walking pages of limit.
func deliveryIDs(t *testing.T, s userdata.Store, tn userdata.Tenant, id string, status userdata.DeliveryStatus, limit int) []string {
	t.Helper()
	var ids []string
	p := deliveryPage(limit, "")
	for {
		l, err := s.ListDeliveries(t.Context(), tn, id, status, p)
		if err != nil {
			t.Fatalf("ListDeliveries: %v", err)
		}
		for _, d := range l.Items {
			ids = append(ids, d.ID)
		}
		if p.Cursor = l.NextCursor; p.Cursor == "" {
			return ids
		}
	}
}

// A webhook's cursor starts at the head of the log; FanOut queues the
// changes after it once, moving it, and refuses a stale cursor and a
// disabled webhook; enabling a webhook moves its cursor to the head.
func testFanOut(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	user(t, s, tn, "before", `{}`)
	wh := createWebhook(t, s, tn, hook("https://a.example.com/"))
	f := fanout(t, s, wh.ID)
	if f == nil || !slices.Equal(f.Webhook.Topics, wh.Topics) || f.Webhook.URL != wh.URL {
		t.Fatalf("ActiveWebhooks: %+v, want the new webhook", f)
	}
	user(t, s, tn, "u1", `{}`)
	user(t, s, tn, "u2", `{}`)
	stale := *f
	now := time.Now().UTC().Truncate(time.Microsecond)
	ids := queue(t, s, f, now)
	if len(ids) != 2 {
		t.Fatalf("queued %d changes after the new webhook's cursor, want 2 (u1, u2)", len(ids))
	}
	if moved, err := s.FanOut(ctx, &stale, f.Cursor, []*userdata.Message{{ID: "whmsg_x", Type: "user.created", Body: []byte("{}")}}, userdata.Queueing{LastAttempt: 3, Now: now}); err != nil || moved {
		t.Errorf("FanOut from a stale cursor = %v, %v; want false", moved, err)
	}
	if got := deliveryIDs(t, s, tn, wh.ID, "", 10); !slices.Equal(got, []string{ids[1], ids[0]}) && !slices.Equal(got, ids) {
		t.Errorf("deliveries %v, want %v", got, ids)
	}
	off, on := false, true
	if _, err := s.UpdateWebhook(ctx, tn, wh.ID, &userdata.WebhookUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if fanout(t, s, wh.ID) != nil {
		t.Error("a disabled webhook is active")
	}
	if moved, err := s.FanOut(ctx, f, f.Cursor, nil, userdata.Queueing{LastAttempt: 3, Now: now}); err != nil || moved {
		t.Errorf("FanOut to a disabled webhook = %v, %v; want false", moved, err)
	}
	user(t, s, tn, "while-disabled", `{}`)
	if _, err := s.UpdateWebhook(ctx, tn, wh.ID, &userdata.WebhookUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	f = fanout(t, s, wh.ID)
	if p, err := s.Changes(ctx, tn.EnvironmentID, userdata.ChangeQuery{After: f.Cursor, Limit: 10, Types: userdata.AllChanges}); err != nil || len(p.Changes) != 0 {
		t.Errorf("changes after the cursor of a webhook enabled again: %v, %v; want none", p, err)
	}
}

// Claims lease due deliveries, skip those leased, and those of a
// disabled or cooling-down webhook; a recorded attempt needs the lease it
// was claimed with; settled deliveries are resent, pending ones not.
func testClaimDeliveries(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	wh := createWebhook(t, s, tn, hook("https://a.example.com/"))
	f := fanout(t, s, wh.ID)
	for i := range 3 {
		user(t, s, tn, fmt.Sprintf("u%d", i), `{}`)
	}
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	ids := queue(t, s, f, t0)
	lease := t0.Add(time.Minute)
	claim := func(n int, now time.Time) []*userdata.Delivery {
		t.Helper()
		ds, err := s.ClaimDeliveries(ctx, []userdata.Claim{{WebhookID: wh.ID, N: n}}, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	first := claim(2, t0)
	if len(first) != 2 {
		t.Fatalf("claimed %d, want 2", len(first))
	}
	d := first[0]
	if d.WebhookID != wh.ID || d.EnvironmentID != tn.EnvironmentID || d.URL != wh.URL || d.Secret != wh.Secret || !d.Lease.Equal(lease) ||
		d.Attempts != 0 || d.LastAttempt != 3 || string(d.Body) != `"`+d.ID+`"` || !slices.Contains(ids, d.ID) {
		t.Errorf("a claimed delivery: %+v", d)
	}
	if rest := claim(5, t0); len(rest) != 1 || slices.ContainsFunc(first, func(x *userdata.Delivery) bool { return x.ID == rest[0].ID }) {
		t.Errorf("the second claim got %d deliveries, want the one left", len(rest))
	}
	if none := claim(5, t0.Add(30*time.Second)); len(none) != 0 {
		t.Errorf("a claim during the leases got %d", len(none))
	}

	// A result with another lease is dropped; with its own, recorded.
	at := t0.Add(time.Second)
	stale := *d
	stale.Lease = t0
	a := userdata.Attempt{Number: 1, At: at, HTTPStatus: 500, Error: "HTTP 500", Duration: time.Millisecond, Response: "down"}
	retry := t0.Add(2 * time.Minute)
	if _, err := s.RecordAttempts(ctx, []*userdata.Result{{Delivery: &stale, Attempt: a, Status: userdata.DeliveryPending, NextAt: retry}}); err != nil {
		t.Fatal(err)
	}
	if got := deliveryIDs(t, s, tn, wh.ID, userdata.DeliveryPending, 10); len(got) != 3 {
		t.Fatalf("pending after a stale result: %v", got)
	}
	results := []*userdata.Result{
		{Delivery: first[0], Attempt: a, Status: userdata.DeliveryPending, NextAt: retry},
		{Delivery: first[1], Attempt: userdata.Attempt{Number: 1, At: at, OK: true, HTTPStatus: 200}, Status: userdata.DeliverySucceeded},
	}
	if _, err := s.RecordAttempts(ctx, results); err != nil {
		t.Fatal(err)
	}
	l, err := s.ListDeliveries(ctx, tn, wh.ID, userdata.DeliveryPending, deliveryPage(10, ""))
	if err != nil {
		t.Fatal(err)
	}
	var retried *userdata.Delivery
	for _, x := range l.Items {
		if x.ID == first[0].ID {
			retried = x
		}
	}
	if retried == nil || retried.Attempts != 1 || !retried.NextAt.Equal(retry) || len(retried.Log) != 1 || *retried.Log[0] != a {
		t.Fatalf("the retried delivery: %+v", retried)
	}
	if w, _ := s.GetWebhook(ctx, tn, wh.ID); w.ConsecutiveFailures != 0 || w.FailingSince != nil {
		t.Errorf("a failure then a success left the breaker %+v", w)
	}
	if got := claim(5, retry.Add(-time.Second)); len(got) != 1 || got[0].ID == first[0].ID {
		t.Errorf("claimed %d before the retry is due, want the one whose lease ended", len(got))
	}
	// Claims skip a cooling-down webhook until its cooldown ends.
	b, ok := s.(webhookBreaker)
	if !ok {
		t.Fatalf("%T has no BreakWebhook", s)
	}
	if err := b.BreakWebhook(ctx, wh.ID, 10, retry); err != nil { // disabled, cooling down until an hour after
		t.Fatal(err)
	}
	on := true
	if _, err := s.UpdateWebhook(ctx, tn, wh.ID, &userdata.WebhookUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if got := claim(5, retry.Add(2*time.Minute)); len(got) != 2 {
		t.Errorf("claimed %d after enabling the webhook again (a clear breaker), want 2", len(got))
	}

	// Resend: a settled delivery only, of this webhook.
	wantCode(t, "ResendDelivery(pending)", resendErr(s, tn, wh.ID, first[0].ID, t0), userdata.CodeInvalid, "")
	wantCode(t, "ResendDelivery(unknown message)", resendErr(s, tn, wh.ID, "whmsg_nope", t0), userdata.CodeNotFound, userdata.ResourceWebhookMessage)
	wantCode(t, "ResendDelivery(unknown webhook)", resendErr(s, tn, "nope", first[1].ID, t0), userdata.CodeNotFound, userdata.ResourceWebhook)
	other := Tenant(t, s, "p", "other")
	wantCode(t, "ResendDelivery(another environment's)", resendErr(s, other, wh.ID, first[1].ID, t0), userdata.CodeNotFound, userdata.ResourceWebhook)
	resent, err := s.ResendDelivery(ctx, tn, wh.ID, first[1].ID, t0)
	if err != nil || resent.Status != userdata.DeliveryPending || resent.LastAttempt != 2 || resent.Attempts != 1 || len(resent.Log) != 1 {
		t.Errorf("ResendDelivery = %+v, %v", resent, err)
	}
}

func resendErr(s userdata.Store, tn userdata.Tenant, id, messageID string, now time.Time) error {
	_, err := s.ResendDelivery(context.Background(), tn, id, messageID, now)
	return err
}

// A queued test is leased to its sender; deliveries are listed newest
// first, page after page, by status; pruning removes the settled old
// ones and a deleted webhook's, and keeps the changes a webhook has yet
// to fan out.
func testListAndPruneDeliveries(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	tn := Tenant(t, s, "p", "e")
	wh := createWebhook(t, s, tn, hook("https://a.example.com/"))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 7 {
		now := t0.Add(time.Duration(i) * time.Minute)
		d, err := s.QueueDelivery(ctx, tn, wh.ID, &userdata.Message{ID: fmt.Sprintf("whmsg_%d", i), Type: "webhook.test", Body: []byte("{}")}, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if d.LastAttempt != 1 || !d.Lease.Equal(now.Add(time.Minute)) || d.URL != wh.URL {
			t.Errorf("QueueDelivery = %+v", d)
		}
		ids = append(ids, d.ID)
		if i%2 == 0 { // settled: succeeded
			r := &userdata.Result{Delivery: d, Attempt: userdata.Attempt{Number: 1, At: now, OK: true, HTTPStatus: 200}, Status: userdata.DeliverySucceeded}
			if _, err := s.RecordAttempts(ctx, []*userdata.Result{r}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if ds, err := s.ClaimDeliveries(ctx, []userdata.Claim{{WebhookID: wh.ID, N: 10}}, t0.Add(time.Minute), t0.Add(2*time.Minute)); err != nil || len(ds) != 0 {
		t.Errorf("claimed %d queued tests before their leases ended", len(ds))
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)
	for _, limit := range []int{1, 2, 7, 100} {
		if got := deliveryIDs(t, s, tn, wh.ID, "", limit); !slices.Equal(got, newest) {
			t.Errorf("deliveries by %d: %v, want %v", limit, got, newest)
		}
	}
	if got := deliveryIDs(t, s, tn, wh.ID, userdata.DeliverySucceeded, 2); !slices.Equal(got, []string{ids[6], ids[4], ids[2], ids[0]}) {
		t.Errorf("succeeded deliveries %v", got)
	}
	if got := deliveryIDs(t, s, tn, wh.ID, userdata.DeliveryFailed, 2); len(got) != 0 {
		t.Errorf("failed deliveries %v", got)
	}
	other := Tenant(t, s, "p", "other")
	_, err := s.ListDeliveries(ctx, other, wh.ID, "", deliveryPage(10, ""))
	wantCode(t, "ListDeliveries(another environment's webhook)", err, userdata.CodeNotFound, userdata.ResourceWebhook)
	for name, cursor := range map[string]string{"unknown": "whmsg_nope", "last": ids[0], "unstorable": "a\x00"} {
		_, err := s.ListDeliveries(ctx, tn, wh.ID, "", deliveryPage(2, cursor))
		wantCode(t, "ListDeliveries(cursor "+name+")", err, userdata.CodeInvalidCursor, "")
	}

	// Pruning: the settled ones queued before t0+3m go, the pending stay.
	n, err := s.PruneDeliveries(ctx, t0.Add(3*time.Minute), 100)
	if err != nil || n != 2 {
		t.Errorf("PruneDeliveries = %d, %v; want 2 (the first two settled)", n, err)
	}
	if want := []string{ids[6], ids[5], ids[4], ids[3], ids[1]}; !slices.Equal(deliveryIDs(t, s, tn, wh.ID, "", 100), want) {
		t.Errorf("after pruning: %v, want %v", deliveryIDs(t, s, tn, wh.ID, "", 100), want)
	}
	gone := createWebhook(t, s, tn, hook("https://gone.example.com/"))
	if _, err := s.QueueDelivery(ctx, tn, gone.ID, &userdata.Message{ID: "whmsg_gone", Type: "webhook.test", Body: []byte("{}")}, t0, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, tn, gone.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneDeliveries(ctx, t0, 100); err != nil || n != 1 {
		t.Errorf("PruneDeliveries after deleting a webhook = %d, %v; want 1", n, err)
	}

	// The changes a webhook has yet to fan out stay in the log.
	user(t, s, tn, "held", `{}`)
	user(t, s, tn, "held2", `{}`)
	f := fanout(t, s, wh.ID)
	if _, err := s.PruneChanges(ctx, time.Now().Add(time.Hour), 1000); err != nil {
		t.Fatal(err)
	}
	if held, _ := changes(t, s, tn, f.Cursor, 10, userdata.AllChanges); len(held) != 2 {
		t.Errorf("%d changes after the cursor of an enabled webhook survived pruning, want 2", len(held))
	}
}

// A deleted environment's deliveries are purged with its webhooks.
func testDeliveriesPurge(t *testing.T, s userdata.Store) {
	ctx := t.Context()
	p := createProject(t, s, "p")
	gone := createEnvironment(t, s, p.ID, "gone")
	tn, _ := tenantOf(t, s, gone)
	wh := createWebhook(t, s, tn, hook("https://g.example.com/"))
	now := time.Now()
	for i := range 3 {
		if _, err := s.QueueDelivery(ctx, tn, wh.ID, &userdata.Message{ID: fmt.Sprintf("whmsg_%d", i), Type: "webhook.test", Body: []byte("{}")}, now, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteEnvironment(ctx, p.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	awaitPurge(t, s)
	c, ok := s.(deliveryCounter)
	if !ok {
		t.Fatalf("%T has no CountDeliveries", s)
	}
	if n, err := c.CountDeliveries(ctx); err != nil || n != 0 {
		t.Errorf("%d deliveries left after the purge (%v)", n, err)
	}
}

// deliveryCounter counts the deliveries of every webhook, the deleted
// ones' included (a test hook of each backend).
type deliveryCounter interface {
	CountDeliveries(ctx context.Context) (int, error)
}
