package userdata

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Deliveries is the store's queue of webhook deliveries (webhooks.md §3):
// one delivery per webhook and message, queued from the change log by
// FanOut (or for a test or a resend), claimed for a lease by the nodes
// that send them, and settled by RecordAttempts, which also keeps each
// webhook's circuit breaker. Times are the caller's clock, passed in, so
// that the deliverer's clock rules every decision.
type Deliveries interface {
	// ActiveWebhooks returns the enabled webhooks of every live
	// environment, each with its fan-out cursor, oldest first.
	ActiveWebhooks(ctx context.Context) ([]*Fanout, error)
	// FanOut queues msgs, pending, for the webhook of f as q says (one
	// delivery per message; a message queued before is left as it is)
	// and moves the webhook's cursor from f.Cursor to next, in one
	// transaction, provided the webhook is still enabled and its cursor
	// still f.Cursor. It reports whether it did: false when another
	// node fanned the range out first, or the webhook was disabled,
	// re-enabled or deleted meanwhile (nothing is queued then).
	FanOut(ctx context.Context, f *Fanout, next string, msgs []*Message, q Queueing) (bool, error)
	// ClaimDeliveries leases, for each claim, up to its N pending
	// deliveries due at now of its webhook, oldest due first, provided
	// the webhook is enabled, in a live environment and not cooling down
	// at now: each is due again at until (unless its attempt is recorded
	// first), so that a node that dies while sending leaves it to
	// another. Deliveries another node has leased are skipped. The
	// claimed deliveries carry Lease, and their webhook's URL and secret.
	ClaimDeliveries(ctx context.Context, claims []Claim, now, until time.Time) ([]*Delivery, error)
	// RecordAttempts records the attempts of claimed deliveries, in
	// order: each one's Attempt is added to its log and its status, due
	// time and attempt count set as the result says, unless its lease is
	// no longer the one it was claimed with (another node claimed it
	// since; the result is dropped). Each recorded attempt sent to the
	// webhook's current URL moves its breaker (Webhook.NoteAttempt). It
	// returns the breaker changes that started a cooldown or disabled a
	// webhook.
	RecordAttempts(ctx context.Context, results []*Result) ([]*BreakerChange, error)
	// QueueDelivery queues msg, of webhook id of t's environment, for
	// one attempt, leased until until: the caller sends it at once. It
	// returns CodeNotFound for ResourceWebhook as GetWebhook.
	QueueDelivery(ctx context.Context, t Tenant, id string, msg *Message, now, until time.Time) (*Delivery, error)
	// ResendDelivery queues again, due at now, a settled delivery of
	// message messageID to webhook id of t's environment, for one more
	// attempt (its log goes on). It returns CodeNotFound for
	// ResourceWebhook as GetWebhook, then for ResourceWebhookMessage
	// when the webhook has no delivery of that message, then
	// CodeInvalid (ErrStillPending) for a delivery still pending.
	ResendDelivery(ctx context.Context, t Tenant, id, messageID string, now time.Time) (*Delivery, error)
	// ListDeliveries returns a page of the deliveries of webhook id of
	// t's environment, with their logs, newest first (p's Sort is by
	// SortCreatedAt, descending), of status status ("" for any). It
	// returns CodeNotFound for ResourceWebhook as GetWebhook, and
	// CodeInvalidCursor when the cursor is not a delivery of the webhook
	// or selects an empty page.
	ListDeliveries(ctx context.Context, t Tenant, id string, status DeliveryStatus, p PageRequest) (*List[*Delivery], error)
	// PruneDeliveries removes at most limit settled deliveries queued
	// before before, and deliveries of deleted webhooks, and returns how
	// many it removed.
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int64, error)
}

// A Fanout is an enabled webhook and its place in its environment's
// change log: the changes after Cursor are yet to be queued to it. The
// store sets the cursor to the head of the log when the webhook is
// created, and again whenever it is enabled, so that only the changes
// committed while it is enabled are delivered to it.
type Fanout struct {
	Webhook *Webhook
	Cursor  string
}

// Queueing says how FanOut queues messages: each may be attempted
// LastAttempt times; they are due at Now, but the first Leased, which the
// caller claims at once, as ClaimDeliveries would, until Until.
type Queueing struct {
	LastAttempt, Leased int
	Now, Until          time.Time
}

// A Claim asks for up to N deliveries of a webhook.
type Claim struct {
	WebhookID string
	N         int
}

// A Message is what a delivery sends: the envelope of a change (or of a
// test), whose id and type it repeats.
type Message struct {
	ID   string
	Type string
	Body []byte
}

// DeliveryStatus is where a delivery stands.
type DeliveryStatus string

// The statuses of a delivery.
const (
	DeliveryPending   DeliveryStatus = "pending"   // to be attempted (again), at NextAt
	DeliverySucceeded DeliveryStatus = "succeeded" // an attempt succeeded
	DeliveryFailed    DeliveryStatus = "failed"    // its last attempt failed; it may be resent
)

// ErrStillPending is ResendDelivery's error for a delivery still pending.
var ErrStillPending = Errorf(CodeInvalid, "This message is still being delivered — wait for it to settle.")

// A Delivery is a message queued to a webhook, with its attempts.
type Delivery struct {
	WebhookID     string
	EnvironmentID string
	Message
	Status DeliveryStatus
	// Attempts is how many attempts were made, and LastAttempt the
	// number of the last one allowed: a failure of that one is final.
	Attempts, LastAttempt int
	// NextAt is, for a pending delivery, when it is attempted next (or
	// a claim of it expires); nil otherwise.
	NextAt    *time.Time
	CreatedAt time.Time
	// Log holds its attempts, oldest first (ListDeliveries,
	// ResendDelivery, QueueDelivery fill it).
	Log []*Attempt

	// Of a claimed delivery: the lease it was claimed with, and its
	// webhook's URL and secret (in its stored form).
	Lease       time.Time
	URL, Secret string
}

// LeasedDelivery returns the delivery of m to wh, queued at now for
// attempts up to lastAttempt, claimed until until by the caller, with no
// attempt yet.
func LeasedDelivery(wh *Webhook, m *Message, lastAttempt int, now, until time.Time) *Delivery {
	return &Delivery{WebhookID: wh.ID, EnvironmentID: wh.EnvironmentID, Message: *m, Status: DeliveryPending, LastAttempt: lastAttempt,
		NextAt: &until, CreatedAt: now, Log: []*Attempt{}, Lease: until, URL: wh.URL, Secret: wh.Secret}
}

// Resend queues d, settled, for one more attempt, due at now, as
// Deliveries.ResendDelivery does, or returns ErrStillPending.
func (d *Delivery) Resend(now time.Time) error {
	if d.Status == DeliveryPending {
		return ErrStillPending
	}
	d.Status, d.LastAttempt, d.NextAt = DeliveryPending, d.Attempts+1, &now
	return nil
}

// MaxResponseLog is how much of a response's body an Attempt keeps, in
// bytes.
const MaxResponseLog = 1024

// An Attempt is one try at sending a delivery.
type Attempt struct {
	Number int
	At     time.Time
	OK     bool
	// HTTPStatus is the status the receiver answered, 0 for none; Error
	// says why the attempt failed ("" when it succeeded); Response is the
	// start of the body answered, as valid UTF-8 without NUL characters,
	// at most MaxResponseLog bytes.
	HTTPStatus int
	Error      string
	Duration   time.Duration
	Response   string
}

// A Result is the outcome of an attempt at a claimed delivery: the
// attempt, and the delivery's status after it, with when a pending one is
// attempted again.
type Result struct {
	Delivery *Delivery
	Attempt  Attempt
	Status   DeliveryStatus
	NextAt   time.Time
}

// A BreakerChange is a webhook's breaker that a recorded attempt tripped:
// into a cooldown, or disabled.
type BreakerChange struct {
	WebhookID, EnvironmentID string
	Failures                 int
	CooldownUntil            *time.Time
	Disabled                 bool
}

// The circuit breaker's rules (webhooks.md §3, Usertour's): after
// BreakerThreshold failed attempts in a row a webhook cools down, for
// BreakerCooldown, twice as long after each further cooldown of the same
// streak, at most BreakerMaxCooldown; a webhook failing without a success
// for AutoDisableAfter is disabled.
const (
	BreakerThreshold   = 10
	BreakerCooldown    = time.Minute
	BreakerMaxCooldown = time.Hour
	AutoDisableAfter   = 7 * 24 * time.Hour
)

// NoteAttempt moves w's breaker by an attempt at at: a success clears it;
// a failure adds to the streak (which starts FailingSince), and from
// BreakerThreshold failures on, unless a cooldown is running (attempts
// already under way when it began are counting in), starts the next
// cooldown or, after AutoDisableAfter of failure, disables w. It reports
// whether w changed, and returns the change when it started a cooldown or
// disabled w.
func (w *Webhook) NoteAttempt(ok bool, at time.Time) (changed bool, trip *BreakerChange) {
	if ok {
		changed = w.ConsecutiveFailures != 0 || w.Cooldowns != 0 || w.CooldownUntil != nil || w.FailingSince != nil
		w.ConsecutiveFailures, w.Cooldowns, w.CooldownUntil, w.FailingSince = 0, 0, nil, nil
		return changed, nil
	}
	w.ConsecutiveFailures++
	if w.FailingSince == nil {
		w.FailingSince = &at
	}
	if w.ConsecutiveFailures < BreakerThreshold || w.CooldownUntil != nil && w.CooldownUntil.After(at) {
		return true, nil
	}
	trip = &BreakerChange{WebhookID: w.ID, EnvironmentID: w.EnvironmentID, Failures: w.ConsecutiveFailures}
	if w.Enabled && at.Sub(*w.FailingSince) >= AutoDisableAfter {
		w.Enabled, w.AutoDisabledAt, w.CooldownUntil, trip.Disabled = false, &at, nil, true
		return true, trip
	}
	until := at.Add(min(BreakerCooldown<<min(w.Cooldowns, 6), BreakerMaxCooldown))
	w.Cooldowns++
	w.CooldownUntil, trip.CooldownUntil = &until, &until
	return true, trip
}

// storedAttempt is the stored form of an Attempt, an element of the JSON
// array both backends keep as a delivery's log: times in microseconds
// since the epoch.
type storedAttempt struct {
	Number     int    `json:"n"`
	At         int64  `json:"at"`
	OK         bool   `json:"ok"`
	HTTPStatus int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	Micros     int64  `json:"us"`
	Response   string `json:"response,omitempty"`
}

// EncodeAttempt returns the stored form of a, which a backend appends to
// a delivery's log.
func EncodeAttempt(a *Attempt) []byte {
	b, _ := json.Marshal(storedAttempt{a.Number, a.At.UnixMicro(), a.OK, a.HTTPStatus, a.Error, a.Duration.Microseconds(), a.Response}) // never fails
	return b
}

// DecodeLog reads a delivery's stored log.
func DecodeLog(raw []byte) ([]*Attempt, error) {
	var stored []storedAttempt
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("a delivery's log: %w", err)
	}
	log := make([]*Attempt, len(stored))
	for i, s := range stored {
		log[i] = &Attempt{Number: s.Number, At: time.UnixMicro(s.At).UTC(), OK: s.OK, HTTPStatus: s.HTTPStatus, Error: s.Error,
			Duration: time.Duration(s.Micros) * time.Microsecond, Response: s.Response}
	}
	return log, nil
}

// NoteAttempts moves the breakers of the webhooks of recorded results, as
// RecordAttempts does: for each webhook, in the order of their ids (so
// that concurrent writers lock rows in one order), read returns it (nil
// when it was deleted), each attempt sent to its current URL moves its
// breaker in the order of results (one sent to another URL is old news,
// which the new one owes nothing), and write stores it if it changed. It
// returns the changes that tripped a breaker.
func NoteAttempts(results []*Result, read func(id string) (*Webhook, error), write func(*Webhook) error) ([]*BreakerChange, error) {
	byHook := map[string][]*Result{}
	for _, r := range results {
		byHook[r.Delivery.WebhookID] = append(byHook[r.Delivery.WebhookID], r)
	}
	var trips []*BreakerChange
	for _, id := range slices.Sorted(maps.Keys(byHook)) {
		wh, err := read(id)
		if err != nil {
			return trips, err
		}
		if wh == nil {
			continue
		}
		changed := false
		for _, r := range byHook[id] {
			if r.Delivery.URL != wh.URL {
				continue
			}
			c, trip := wh.NoteAttempt(r.Attempt.OK, r.Attempt.At)
			changed = changed || c
			if trip != nil {
				trips = append(trips, trip)
			}
		}
		if changed {
			if err := write(wh); err != nil {
				return trips, err
			}
		}
	}
	return trips, nil
}
