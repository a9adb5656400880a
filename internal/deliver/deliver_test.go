package deliver_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tourd/internal/backendtest"
	"tourd/internal/buildinfo"
	"tourd/internal/deliver"
	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// A change is delivered to a webhook whose topics cover it, as the feed
// serves it, signed both ways; one its topics do not cover is not.
func TestDeliver(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		rc := newReceiver(t, nil)
		wh, secret := f.hook(rc.URL+"/in?x=1", "user")
		start(t, f.store, deliver.Config{})
		f.company("acme")
		f.user("usr_1", "Ann")
		got := rc.next(t)
		rc.quiet(t, "after the user's change")

		page, err := f.store.Changes(t.Context(), f.tn.EnvironmentID, userdata.ChangeQuery{Limit: 10, Types: userdata.AllChanges})
		if err != nil || len(page.Changes) != 2 {
			t.Fatalf("Changes = %v, %v", page, err)
		}
		change := page.Changes[1]
		if want := wire.AppendChange(nil, change); !bytes.Equal(got.body, want) {
			t.Errorf("body %s, want the feed's %s", got.body, want)
		}
		h := got.header
		for name, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "tourd-webhooks/" + buildinfo.Read().Version,
			"Webhook-Id": change.ID} {
			if h.Get(name) != want {
				t.Errorf("%s: %q, want %q", name, h.Get(name), want)
			}
		}
		ts, err := strconv.ParseInt(h.Get("Webhook-Timestamp"), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("webhook-timestamp %q is not now", h.Get("Webhook-Timestamp"))
		}
		if want := webhook.Sign(secret, ts, got.body); h.Get("X-Usertour-Signature") != want {
			t.Errorf("X-Usertour-Signature %q, want %q", h.Get("X-Usertour-Signature"), want)
		}
		key, _ := hex.DecodeString(strings.TrimPrefix(secret, webhook.SecretPrefix))
		verifier, _ := standardwebhooks.NewWebhookRaw(key)
		if err := verifier.Verify(got.body, h); err != nil {
			t.Errorf("the Standard Webhooks library does not verify the delivery: %v", err)
		}

		var ds []*userdata.Delivery
		eventually(t, "the delivery is recorded", func() bool {
			ds = f.deliveries(wh.ID, userdata.DeliverySucceeded)
			return len(ds) == 1
		})
		d := ds[0]
		if d.ID != change.ID || d.Type != userdata.ChangeUserCreated || d.Attempts != 1 || d.NextAt != nil || len(d.Log) != 1 {
			t.Fatalf("delivery %+v", d)
		}
		if a := d.Log[0]; a.Number != 1 || !a.OK || a.HTTPStatus != 200 || a.Error != "" || a.Response != "ok" {
			t.Errorf("attempt %+v", a)
		}
	})
}

// Only the changes committed while a webhook is enabled are delivered to
// it: not those before its creation, nor those while it is disabled.
func TestFanOutFollowsEnabled(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		f.user("before", "B")
		rc := newReceiver(t, nil)
		wh, _ := f.hook(rc.URL, "*")
		start(t, f.store, deliver.Config{})
		f.user("enabled1", "E")
		if e := rc.next(t).envelope(t); e.Type != userdata.ChangeUserCreated || !strings.Contains(string(e.Data["user"]), `"enabled1"`) {
			t.Errorf("first delivery %+v", e)
		}
		f.setEnabled(wh.ID, false)
		f.user("disabled", "D")
		rc.quiet(t, "while disabled")
		f.setEnabled(wh.ID, true)
		f.user("enabled2", "E")
		if e := rc.next(t).envelope(t); !strings.Contains(string(e.Data["user"]), `"enabled2"`) {
			t.Errorf("after re-enabling: %+v", e)
		}
		rc.quiet(t, "after re-enabling")
	})
}

// A failed attempt is retried on the schedule, under the same message id,
// until one succeeds or the last fails; a failed message may be resent,
// its attempts numbered on.
func TestRetries(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		var fail atomic.Bool
		fail.Store(true)
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if fail.Load() {
				http.Error(w, "down", http.StatusInternalServerError)
			}
		})
		wh, _ := f.hook(rc.URL, "user.created")
		d, _ := start(t, f.store, deliver.Config{Schedule: []time.Duration{100 * time.Millisecond, 300 * time.Millisecond}})
		f.user("usr_1", "A")
		first, second, third := rc.next(t), rc.next(t), rc.next(t)
		rc.quiet(t, "after the last attempt")
		if gap := second.at.Sub(first.at); gap < 100*time.Millisecond {
			t.Errorf("second attempt %s after the first, want 100ms or more", gap)
		}
		if gap := third.at.Sub(second.at); gap < 300*time.Millisecond {
			t.Errorf("third attempt %s after the second, want 300ms or more", gap)
		}
		id := first.header.Get("Webhook-Id")
		if second.header.Get("Webhook-Id") != id || third.header.Get("Webhook-Id") != id || !bytes.Equal(first.body, third.body) {
			t.Error("the attempts of one message differ in id or body")
		}
		var failed []*userdata.Delivery
		eventually(t, "the delivery fails", func() bool {
			failed = f.deliveries(wh.ID, userdata.DeliveryFailed)
			return len(failed) == 1
		})
		if dl := failed[0]; dl.Attempts != 3 || len(dl.Log) != 3 || dl.Log[2].HTTPStatus != 500 || dl.Log[2].Error != "HTTP 500" || dl.Log[2].Response != "down\n" {
			t.Errorf("failed delivery %+v, last attempt %+v", dl, dl.Log[len(dl.Log)-1])
		}

		fail.Store(false)
		if _, err := d.Resend(t.Context(), f.tn, wh.ID, "whmsg_nope"); !userdata.IsNotFound(err, userdata.ResourceWebhookMessage) {
			t.Errorf("Resend of an unknown message = %v", err)
		}
		resent, err := d.Resend(t.Context(), f.tn, wh.ID, id)
		if err != nil || resent.Status != userdata.DeliveryPending {
			t.Fatalf("Resend = %+v, %v", resent, err)
		}
		if _, err := d.Resend(t.Context(), f.tn, wh.ID, id); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("Resend of a pending delivery = %v, want CodeInvalid", err)
		}
		if again := rc.next(t); again.header.Get("Webhook-Id") != id || !bytes.Equal(again.body, first.body) {
			t.Errorf("the resent message differs: %s", again.body)
		}
		eventually(t, "the resent delivery succeeds", func() bool {
			ok := f.deliveries(wh.ID, userdata.DeliverySucceeded)
			return len(ok) == 1 && ok[0].Attempts == 4 && len(ok[0].Log) == 4 && ok[0].Log[3].Number == 4 && ok[0].Log[3].OK
		})
		f.setEnabled(wh.ID, false)
		if _, err := d.Resend(t.Context(), f.tn, wh.ID, id); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("Resend to a disabled webhook = %v, want CodeInvalid", err)
		}
	})
}

// A Retry-After on a 429 or a 503 puts the next attempt off beyond the
// schedule's delay; on another status it does not.
func TestRetryAfter(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		statuses := map[string]int{"u429": http.StatusTooManyRequests, "u503": http.StatusServiceUnavailable, "u502": http.StatusBadGateway}
		var retried atomic.Bool
		firsts := make(chan string, 3)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var e struct {
				Data struct{ User struct{ ID string } }
			}
			json.NewDecoder(r.Body).Decode(&e)
			id := e.Data.User.ID
			if id == "u502" && !retried.CompareAndSwap(false, true) {
				return // the retry succeeds
			}
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(statuses[id])
			firsts <- id
		}))
		defer rc.Close()
		wh, _ := f.hook(rc.URL, "user")
		start(t, f.store, deliver.Config{Schedule: []time.Duration{50 * time.Millisecond}})
		for _, id := range []string{"u429", "u503", "u502"} {
			f.user(id, "x")
			if got := <-firsts; got != id {
				t.Fatalf("first attempt at %s, want %s", got, id)
			}
		}
		eventually(t, "the 502 is retried at the schedule's delay", func() bool { return len(f.deliveries(wh.ID, userdata.DeliverySucceeded)) == 1 })
		held := f.deliveries(wh.ID, userdata.DeliveryPending)
		if len(held) != 2 {
			t.Fatalf("%d deliveries held back, want the 429 and the 503", len(held))
		}
		for _, dl := range held {
			if a := dl.Log[0]; len(dl.Log) != 1 || dl.NextAt.Sub(a.At) < 59*time.Minute {
				t.Errorf("after a %d with Retry-After 3600: next at %v (attempt at %v)", a.HTTPStatus, dl.NextAt, a.At)
			}
		}
	})
}

// Attempts that cannot succeed: to a private address without the
// allowance, a redirect (not followed), a secret that cannot be opened.
func TestRefusedAttempts(t *testing.T) {
	f := newFixture(t, backendtest.SQLite.Open(t))
	target := newReceiver(t, nil)
	redirect := newReceiver(t, func(n int, w http.ResponseWriter) {
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusFound)
	})
	private, _ := f.hook(target.URL, "user")
	moved, _ := f.hook(redirect.URL, "user")
	d := deliver.New(f.store, deliver.Config{Guard: &webhook.Guard{}}, backendtest.Discard)
	dl, err := d.SendTest(t.Context(), f.tn, private.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := dl.Log[0]; dl.Status != userdata.DeliveryFailed || a.OK || !strings.Contains(a.Error, "loopback") {
		t.Errorf("a delivery to a loopback address: %s %+v", dl.Status, a)
	}
	open := deliver.New(f.store, deliver.Config{Guard: &webhook.Guard{AllowPrivate: true}}, backendtest.Discard)
	if dl, err = open.SendTest(t.Context(), f.tn, moved.ID); err != nil {
		t.Fatal(err)
	}
	if a := dl.Log[0]; dl.Status != userdata.DeliveryFailed || a.HTTPStatus != 302 || !strings.Contains(a.Error, "redirects are not followed") {
		t.Errorf("a redirected delivery: %s %+v", dl.Status, a)
	}
	if target.count() != 0 {
		t.Errorf("the redirect's target got %d requests", target.count())
	}
	sealed := webhooktestSealed(t)
	lost, err := f.store.CreateWebhook(t.Context(), f.tn, &userdata.WebhookInput{URL: target.URL, Topics: []string{"*"}, Enabled: true, Secret: sealed})
	if err != nil {
		t.Fatal(err)
	}
	if dl, err = open.SendTest(t.Context(), f.tn, lost.ID); err != nil {
		t.Fatal(err)
	}
	if a := dl.Log[0]; a.OK || !strings.Contains(a.Error, "rotate") || target.count() != 0 {
		t.Errorf("a delivery whose secret cannot be opened: %+v, %d requests", a, target.count())
	}
}

// webhooktestSealed returns a secret sealed with a key the deliverer does
// not have.
func webhooktestSealed(t *testing.T) string {
	k, err := webhook.NewKeyring(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	return k.Seal(webhook.NewSecret())
}
