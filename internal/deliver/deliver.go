// Package deliver sends webhook deliveries (webhooks.md §3). A Deliverer
// fans each enabled webhook's changes out of the change log into the
// store's queue of deliveries, claims the due ones for a lease, POSTs them,
// signed, to their receivers, and records each attempt, with the retries
// and the circuit breaker it decides. Every decision is in the store, so
// any number of deliverers may share one database, and one may die at any
// moment: what it claimed is retried when its lease ends.
package deliver

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// Defaults of Config.
const (
	DefaultConcurrency = 256
	DefaultPerWebhook  = 32
	DefaultLease       = time.Minute
	DefaultPoll        = time.Second
)

// Config tunes a Deliverer; zero fields take their defaults.
type Config struct {
	// Guard says which addresses deliveries may reach (nil: public ones
	// only); Secrets opens the webhooks' stored secrets.
	Guard   *webhook.Guard
	Secrets *webhook.Keyring
	// Schedule is the delays between attempts (DefaultSchedule): a
	// delivery is attempted once more than it has delays.
	Schedule []time.Duration
	// Concurrency bounds the attempts under way at once, and PerWebhook
	// those to one webhook: a slow receiver holds up only its own.
	Concurrency, PerWebhook int
	// Lease is how long a claimed delivery is left to its sender before
	// another takes it; it must exceed Timeout.
	Lease time.Duration
	// Poll is how often the deliverer looks for due retries and for
	// changes another node committed (it hears of its own at once).
	Poll time.Duration
	// Retention is how long settled deliveries are kept; 0 keeps them.
	Retention time.Duration
	// Now is the clock of every decision (time.Now).
	Now func() time.Time
}

// A Deliverer delivers the webhooks of a store.
type Deliverer struct {
	store   userdata.Store
	log     *slog.Logger
	cfg     Config
	client  *http.Client
	secrets *webhook.Keyring

	mu       sync.Mutex
	inflight map[string]int // attempts under way, by webhook
	total    int
	freed    chan struct{} // a slot was freed
}

// New returns a deliverer of store's webhooks; Run runs it, and SendTest
// works without it.
func New(store userdata.Store, cfg Config, log *slog.Logger) *Deliverer {
	if cfg.Guard == nil {
		cfg.Guard = &webhook.Guard{}
	}
	if cfg.Secrets == nil {
		cfg.Secrets = &webhook.Keyring{}
	}
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	cfg.Concurrency = orDefault(cfg.Concurrency, DefaultConcurrency)
	cfg.PerWebhook = orDefault(cfg.PerWebhook, DefaultPerWebhook)
	cfg.Lease = orDefault(cfg.Lease, DefaultLease)
	cfg.Poll = orDefault(cfg.Poll, DefaultPoll)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Deliverer{store: store, log: log, cfg: cfg, client: newClient(cfg.Guard, cfg.PerWebhook), secrets: cfg.Secrets,
		inflight: map[string]int{}, freed: make(chan struct{}, 1)}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// now is the time of the deliverer's clock, at the precision stores keep.
func (d *Deliverer) now() time.Time { return d.cfg.Now().UTC().Truncate(time.Microsecond) }

// newMessage returns the message of a change: its envelope.
func newMessage(c *userdata.Change) *userdata.Message {
	return &userdata.Message{ID: c.ID, Type: c.Type, Body: wire.AppendChange(nil, c)}
}

// SendTest sends a webhook.test message to webhook id of t's environment
// now, and returns its delivery as settled by the one attempt it is
// allowed (it is queued first, leased to this call, so that it is sent
// again if this process dies first). It returns CodeNotFound for
// ResourceWebhook when there is no such webhook, and CodeInvalid when it
// is disabled. The cooldown of the webhook's breaker does not hold a test
// back, and its outcome moves the breaker: a success ends the cooldown.
func (d *Deliverer) SendTest(ctx context.Context, t userdata.Tenant, id string) (*userdata.Delivery, error) {
	if err := d.checkEnabled(ctx, t, id, "Enable the webhook before sending a test event."); err != nil {
		return nil, err
	}
	now := d.now()
	msg := newMessage(&userdata.Change{ID: userdata.NewChangeID(), Type: webhook.Test, EnvironmentID: t.EnvironmentID, CreatedAt: now})
	dl, err := d.store.QueueDelivery(ctx, t, id, msg, now, now.Add(d.cfg.Lease))
	if err != nil {
		return nil, err
	}
	// The client leaving does not stop the attempt, which is queued.
	ctx = context.WithoutCancel(ctx)
	a, _ := d.attempt(ctx, dl, 1)
	r := d.settle(dl, a, 0)
	if err := d.record(ctx, []*userdata.Result{r}); err != nil {
		return nil, err
	}
	dl.Status, dl.Attempts, dl.NextAt, dl.Log = r.Status, a.Number, nil, append(dl.Log, &a)
	return dl, nil
}

// Resend queues the delivery of message messageID to webhook id of t's
// environment again, due now, for one more attempt, as
// Store.ResendDelivery does; the webhook must be enabled (CodeInvalid).
func (d *Deliverer) Resend(ctx context.Context, t userdata.Tenant, id, messageID string) (*userdata.Delivery, error) {
	if err := d.checkEnabled(ctx, t, id, "Enable the webhook before re-sending a message."); err != nil {
		return nil, err
	}
	return d.store.ResendDelivery(ctx, t, id, messageID, d.now())
}

// checkEnabled returns the CodeInvalid error refusing, with the message
// refusal, an action on webhook id of t's environment when it is
// disabled, or CodeNotFound for ResourceWebhook when there is none.
func (d *Deliverer) checkEnabled(ctx context.Context, t userdata.Tenant, id, refusal string) error {
	wh, err := d.store.GetWebhook(ctx, t, id)
	if err == nil && !wh.Enabled {
		err = userdata.Errorf(userdata.CodeInvalid, "%s", refusal)
	}
	return err
}

// settle returns the result of attempt a at dl: succeeded, failed for
// good after its last attempt, or pending until the schedule's delay (or
// the receiver's retryAfter) has passed.
func (d *Deliverer) settle(dl *userdata.Delivery, a userdata.Attempt, retryAfter time.Duration) *userdata.Result {
	r := &userdata.Result{Delivery: dl, Attempt: a, Status: userdata.DeliverySucceeded}
	switch {
	case a.OK:
	case a.Number >= dl.LastAttempt:
		r.Status = userdata.DeliveryFailed
	default:
		r.Status, r.NextAt = userdata.DeliveryPending, d.now().Add(backoff(d.cfg.Schedule, a.Number, retryAfter))
	}
	return r
}

// record records results, and logs the breakers they tripped.
func (d *Deliverer) record(ctx context.Context, results []*userdata.Result) error {
	trips, err := d.store.RecordAttempts(ctx, results)
	for _, t := range trips {
		if t.Disabled {
			d.log.Warn("webhooks: disabled a webhook that has failed without a success for too long", "webhook_id", t.WebhookID,
				"environment_id", t.EnvironmentID, "failures", t.Failures, "after", userdata.AutoDisableAfter)
		} else {
			d.log.Warn("webhooks: a webhook is cooling down after failed attempts", "webhook_id", t.WebhookID,
				"environment_id", t.EnvironmentID, "failures", t.Failures, "until", t.CooldownUntil.Format(time.RFC3339))
		}
	}
	return err
}
