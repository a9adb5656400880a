package deliver_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/userdata"
)

// Ten failed attempts in a row cool a webhook down for a minute, the
// next cooldown lasts two, messages wait meanwhile; after seven days
// without a success the webhook is disabled; a test sent during a
// cooldown goes through, and its success clears the breaker.
func TestBreaker(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		f := newFixture(t, b.Open(t))
		var ok atomic.Bool
		rc := newReceiver(t, func(n int, w http.ResponseWriter) {
			if !ok.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		wh, _ := f.hook(rc.URL, "user")
		var clk clock
		d, _ := start(t, f.store, deliver.Config{Schedule: []time.Duration{24 * time.Hour}, PerWebhook: 1, Now: clk.Now})
		for i := range 13 {
			f.user("u"+string(rune('a'+i)), "x")
		}
		for range userdata.BreakerThreshold {
			rc.next(t)
		}
		rc.quiet(t, "cooling down")
		var cooling *userdata.Webhook
		eventually(t, "the cooldown is recorded", func() bool {
			cooling = f.webhook(wh.ID)
			return cooling.CooldownUntil != nil
		})
		if left := cooling.CooldownUntil.Sub(clk.Now()); cooling.ConsecutiveFailures != 10 || left < 50*time.Second || left > time.Minute {
			t.Fatalf("after 10 failures: %d failures, cooling down for %s, want 10 and a minute", cooling.ConsecutiveFailures, left)
		}
		if n := len(f.deliveries(wh.ID, userdata.DeliveryPending)); n != 13 {
			t.Errorf("%d deliveries pending, want all 13", n)
		}
		clk.Advance(time.Minute)
		rc.next(t)
		rc.quiet(t, "cooling down again")
		eventually(t, "the second cooldown is recorded", func() bool {
			cooling = f.webhook(wh.ID)
			return cooling.ConsecutiveFailures == 11 && cooling.Cooldowns == 2
		})
		if left := cooling.CooldownUntil.Sub(clk.Now()); left < 110*time.Second || left > 2*time.Minute {
			t.Errorf("the second cooldown lasts %s, want 2 minutes", left)
		}

		clk.Advance(userdata.AutoDisableAfter)
		rc.next(t)
		var disabled *userdata.Webhook
		eventually(t, "the webhook is disabled", func() bool {
			disabled = f.webhook(wh.ID)
			return !disabled.Enabled
		})
		if disabled.AutoDisabledAt == nil || disabled.ConsecutiveFailures != 12 {
			t.Errorf("disabled webhook %+v", disabled)
		}
		rc.quiet(t, "disabled")
		if _, err := d.SendTest(t.Context(), f.tn, wh.ID); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("SendTest to a disabled webhook = %v, want CodeInvalid", err)
		}

		// Enabled again: a clear breaker; failing again, then a test
		// during the cooldown, which succeeds, clears it.
		f.setEnabled(wh.ID, true)
		for range 10 - 1 {
			rc.next(t) // the waiting messages, one by one
		}
		rc.next(t)
		eventually(t, "cooling down after being enabled", func() bool { return f.webhook(wh.ID).CooldownUntil != nil })
		ok.Store(true)
		dl, err := d.SendTest(t.Context(), f.tn, wh.ID)
		if err != nil || dl.Status != userdata.DeliverySucceeded || dl.Type != "webhook.test" || len(dl.Log) != 1 || !dl.Log[0].OK {
			t.Fatalf("SendTest during a cooldown = %+v, %v", dl, err)
		}
		if e := rc.next(t).envelope(t); e.Type != "webhook.test" || e.ID != dl.ID || len(e.Data) != 0 {
			t.Errorf("the test message %+v", e)
		}
		if cleared := f.webhook(wh.ID); cleared.ConsecutiveFailures != 0 || cleared.CooldownUntil != nil || cleared.FailingSince != nil {
			t.Errorf("after a success: %+v", cleared)
		}
		clk.Advance(24 * time.Hour) // the schedule's delay
		eventually(t, "every message is settled", func() bool {
			return len(f.deliveries(wh.ID, userdata.DeliveryPending)) == 0
		})
		if n := len(f.deliveries(wh.ID, "")); n != 13+1 {
			t.Errorf("%d deliveries, want 14", n)
		}
	})
}
