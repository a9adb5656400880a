package userdata

import (
	"slices"
	"time"
	"unicode/utf8"
)

// Webhook is an endpoint of an environment that changes are delivered to
// (webhooks.md §2). Package webhook holds its vocabulary: topics, secrets,
// the addresses it may reach.
type Webhook struct {
	ID            string
	EnvironmentID string
	URL           string
	// Topics are the endpoint's subscriptions, as webhook.ParseTopics
	// returned them.
	Topics  []string
	Enabled bool
	// Description is "" for none (null on the wire).
	Description string
	// Secret is the signing secret in its stored form
	// (webhook.Keyring.Seal), which the store keeps as it is given.
	Secret string
	// The circuit breaker's state, which deliveries keep (NoteAttempt):
	// how many attempts failed in a row, how many cooldowns that streak
	// began, until when deliveries wait, when the endpoint was disabled
	// for failing, and since when it has failed without a success; nil
	// for never.
	ConsecutiveFailures int
	Cooldowns           int
	CooldownUntil       *time.Time
	AutoDisabledAt      *time.Time
	FailingSince        *time.Time
	CreatedAt           time.Time
}

// MaxWebhookDescription bounds a webhook's description, in characters
// (Usertour's).
const MaxWebhookDescription = 200

// WebhookInput is a new webhook (v2 POST webhooks). Its URL must have
// passed webhook.ParseURL and the guard's CheckURL, its Topics
// webhook.ParseTopics.
type WebhookInput struct {
	URL         string
	Topics      []string
	Enabled     bool
	Description string // "" for none
	Secret      string // in its stored form
}

// Validate checks what the webhook package does not: the description.
func (in *WebhookInput) Validate() error { return checkWebhookDescription(in.Description) }

// WebhookUpdate is a change to a webhook (v2 PATCH webhooks/{id} and
// rotate-secret); nil fields are left as they are. URL and Topics must
// have passed the checks of WebhookInput's.
type WebhookUpdate struct {
	URL         *string
	Topics      []string
	Enabled     *bool
	Description *string // "" removes it
	Secret      *string // in its stored form
}

// Validate checks the description, if given.
func (u *WebhookUpdate) Validate() error {
	if u.Description == nil {
		return nil
	}
	return checkWebhookDescription(*u.Description)
}

// checkWebhookDescription checks a webhook's description.
func checkWebhookDescription(d string) error {
	if err := checkText("description", d, false, 0); err != nil {
		return err
	}
	if utf8.RuneCountInString(d) > MaxWebhookDescription {
		return Errorf(CodeInvalid, "description must be at most %d characters long", MaxWebhookDescription)
	}
	return nil
}

// Apply returns w with u applied. Re-enabling a disabled endpoint, or
// giving it another URL, resets its breaker (ConsecutiveFailures,
// Cooldowns, CooldownUntil, FailingSince): the new target owes nothing to the old
// one's failures. Re-enabling also clears AutoDisabledAt, which follows
// the enabled switch (Usertour's rules).
func (w *Webhook) Apply(u *WebhookUpdate) *Webhook {
	out := *w
	if u.URL != nil {
		out.URL = *u.URL
	}
	if u.Topics != nil {
		out.Topics = slices.Clone(u.Topics)
	}
	if u.Enabled != nil {
		out.Enabled = *u.Enabled
	}
	if u.Description != nil {
		out.Description = *u.Description
	}
	if u.Secret != nil {
		out.Secret = *u.Secret
	}
	reEnabled := out.Enabled && !w.Enabled
	if reEnabled || out.URL != w.URL {
		out.ConsecutiveFailures, out.Cooldowns, out.CooldownUntil, out.FailingSince = 0, 0, nil, nil
	}
	if reEnabled {
		out.AutoDisabledAt = nil
	}
	return &out
}
