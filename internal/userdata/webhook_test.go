package userdata_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// Re-enabling a disabled endpoint resets its breaker and clears
// AutoDisabledAt; a new URL resets the breaker only; other changes keep
// both (Usertour's rules).
func TestWebhookApply(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	failing := &userdata.Webhook{ID: "w", URL: "https://a.example.com/", Topics: []string{"*"}, Description: "d", Secret: "s",
		ConsecutiveFailures: 12, CooldownUntil: &at, AutoDisabledAt: &at, FailingSince: &at, CreatedAt: at}
	disabled := *failing
	disabled.Enabled = false
	enabled := *failing
	enabled.Enabled, enabled.AutoDisabledAt = true, nil
	for _, tt := range []struct {
		name string
		w    *userdata.Webhook
		u    userdata.WebhookUpdate
		want func(w *userdata.Webhook)
	}{
		{"nothing", &disabled, userdata.WebhookUpdate{}, func(*userdata.Webhook) {}},
		{"re-enabled", &disabled, userdata.WebhookUpdate{Enabled: ptr(true)}, func(w *userdata.Webhook) {
			w.Enabled, w.ConsecutiveFailures, w.CooldownUntil, w.AutoDisabledAt, w.FailingSince = true, 0, nil, nil, nil
		}},
		{"enabled again", &enabled, userdata.WebhookUpdate{Enabled: ptr(true)}, func(*userdata.Webhook) {}},
		{"disabled", &enabled, userdata.WebhookUpdate{Enabled: ptr(false)}, func(w *userdata.Webhook) { w.Enabled = false }},
		{"new URL", &disabled, userdata.WebhookUpdate{URL: ptr("https://b.example.com/")}, func(w *userdata.Webhook) {
			w.URL, w.ConsecutiveFailures, w.CooldownUntil, w.FailingSince = "https://b.example.com/", 0, nil, nil
		}},
		{"same URL", &enabled, userdata.WebhookUpdate{URL: ptr(enabled.URL)}, func(*userdata.Webhook) {}},
		{"the rest", &enabled, userdata.WebhookUpdate{Topics: []string{"user"}, Description: ptr(""), Secret: ptr("s2")}, func(w *userdata.Webhook) {
			w.Topics, w.Description, w.Secret = []string{"user"}, "", "s2"
		}},
	} {
		want := *tt.w
		tt.want(&want)
		before := *tt.w
		if got := tt.w.Apply(&tt.u); !cmp.Equal(got, &want) {
			t.Errorf("%s: Apply (-want +got):\n%s", tt.name, cmp.Diff(&want, got))
		}
		if !cmp.Equal(*tt.w, before) {
			t.Errorf("%s: Apply changed the webhook it applies to", tt.name)
		}
	}
}

func TestWebhookDescription(t *testing.T) {
	for _, ok := range []string{"", "CRM sync", strings.Repeat("é", userdata.MaxWebhookDescription)} {
		if err := (&userdata.WebhookInput{Description: ok}).Validate(); err != nil {
			t.Errorf("Validate(description %.20q): %v", ok, err)
		}
		if err := (&userdata.WebhookUpdate{Description: &ok}).Validate(); err != nil {
			t.Errorf("Validate(update, description %.20q): %v", ok, err)
		}
	}
	for _, bad := range []string{strings.Repeat("a", userdata.MaxWebhookDescription+1), "a\x00b"} {
		if err := (&userdata.WebhookInput{Description: bad}).Validate(); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("Validate(description %.20q) = %v, want CodeInvalid", bad, err)
		}
		if err := (&userdata.WebhookUpdate{Description: &bad}).Validate(); userdata.ErrorCode(err) != userdata.CodeInvalid {
			t.Errorf("Validate(update, description %.20q) = %v, want CodeInvalid", bad, err)
		}
	}
	if err := (&userdata.WebhookUpdate{}).Validate(); err != nil {
		t.Errorf("Validate(empty update): %v", err)
	}
}
