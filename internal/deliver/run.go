package deliver

import (
	"context"
	"sync"
	"time"

	"tourd/internal/userdata"
	"tourd/internal/webhook"
)

// The work of a pass, and the pace of passes.
const (
	// fanoutBatch is how many changes one FanOut queues, and
	// fanoutPages how many batches a pass fans out to one webhook before
	// it turns to claims.
	fanoutBatch = 500
	fanoutPages = 8
	// minGap is the least time between the starts of two passes, so that
	// a busy log is fanned out in batches.
	minGap = 10 * time.Millisecond
	// recordBatch is the most attempts recorded at once.
	recordBatch = 256
	// pruneEvery is how often settled deliveries past the retention are
	// removed, and pruneBatch the most one call removes.
	pruneEvery = 10 * time.Minute
	pruneBatch = 10_000
)

// everything selects every change, page_viewed events included: fan-out
// reads them all, so that a webhook's cursor keeps up with the log
// whatever its topics, and matches them against the topics itself.
var everything = userdata.TypeFilter{Exact: []string{userdata.PageViewed}, Prefixes: []string{""}}

// Run delivers until ctx is done: it fans changes out when they commit
// (and every Poll, for another node's), claims due deliveries as slots
// free, sends them and records their attempts, and prunes settled
// deliveries past the retention. When ctx is done it stops sending at
// once and returns when its goroutines have: attempts under way are
// abandoned, unrecorded, and their deliveries sent again when their
// leases end.
func (d *Deliverer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	results := make(chan *userdata.Result, d.cfg.Concurrency)
	recorded := make(chan struct{})
	go func() { defer close(recorded); d.recorder(results) }()
	if d.cfg.Retention > 0 {
		wg.Go(func() { d.prune(ctx) })
	}
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for {
		signal := d.store.ChangeSignal() // before the pass: a commit during it closes it
		start := time.Now()
		d.pass(ctx, &wg, results)
		select {
		case <-ctx.Done():
		case <-signal:
		case <-tick.C:
		case <-d.freed:
		}
		if wait := minGap - time.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			wg.Wait()
			close(results)
			<-recorded
			return
		}
	}
}

// pass fans the active webhooks' new changes out, sending at once those
// the free slots can take, and claims due deliveries for the slots left.
func (d *Deliverer) pass(ctx context.Context, wg *sync.WaitGroup, results chan<- *userdata.Result) {
	fanouts, err := d.store.ActiveWebhooks(ctx)
	if err != nil {
		d.warn(ctx, "webhooks: reading the enabled webhooks failed; trying again later", err)
		return
	}
	var ds []*userdata.Delivery
	for _, f := range fanouts {
		ds = append(ds, d.fanOut(ctx, f)...)
	}
	ds = append(ds, d.claim(ctx, fanouts)...)
	for _, dl := range ds {
		wg.Go(func() { d.send(ctx, dl, results) })
	}
}

// reserve reserves up to n free slots of a webhook that is not cooling
// down at now, and returns how many.
func (d *Deliverer) reserve(wh *userdata.Webhook, n int, now time.Time) int {
	if wh.CooldownUntil != nil && wh.CooldownUntil.After(now) {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n = max(0, min(n, d.cfg.PerWebhook-d.inflight[wh.ID], d.cfg.Concurrency-d.total))
	d.inflight[wh.ID] += n
	d.total += n
	return n
}

// release frees n of a webhook's slots.
func (d *Deliverer) release(id string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight[id] -= n
	d.total -= n
	if d.inflight[id] == 0 {
		delete(d.inflight, id)
	}
}

// claim claims due deliveries for the free slots of the webhooks of
// fanouts.
func (d *Deliverer) claim(ctx context.Context, fanouts []*userdata.Fanout) []*userdata.Delivery {
	now := d.now()
	var claims []userdata.Claim
	for _, f := range fanouts {
		if n := d.reserve(f.Webhook, d.cfg.PerWebhook, now); n > 0 {
			claims = append(claims, userdata.Claim{WebhookID: f.Webhook.ID, N: n})
		}
	}
	if len(claims) == 0 {
		return nil
	}
	ds, err := d.store.ClaimDeliveries(ctx, claims, now, now.Add(d.cfg.Lease))
	if err != nil {
		d.warn(ctx, "webhooks: claiming deliveries failed; trying again later", err)
	}
	got := map[string]int{}
	for _, dl := range ds {
		got[dl.WebhookID]++
	}
	for _, c := range claims {
		d.release(c.WebhookID, c.N-got[c.WebhookID])
	}
	return ds
}

// fanOut queues the changes committed after f's cursor that its topics
// cover, a batch at a time, for at most fanoutPages batches, and returns
// those it claimed as it queued them, for the webhook's free slots.
func (d *Deliverer) fanOut(ctx context.Context, f *userdata.Fanout) []*userdata.Delivery {
	wh := f.Webhook
	topics := webhook.Topics(wh.Topics).Filter()
	var out []*userdata.Delivery
	for range fanoutPages {
		page, err := d.store.Changes(ctx, wh.EnvironmentID, userdata.ChangeQuery{After: f.Cursor, Limit: fanoutBatch, Types: everything})
		if userdata.ErrorCode(err) == userdata.CodeCursorExpired {
			d.skipPruned(ctx, f)
			return out
		}
		if err != nil {
			d.warn(ctx, "webhooks: reading the change log failed; trying again later", err, "webhook_id", wh.ID)
			return out
		}
		if page.Next == f.Cursor {
			return out
		}
		var msgs []*userdata.Message
		for _, c := range page.Changes {
			if topics.Match(c.Type) {
				msgs = append(msgs, newMessage(c))
			}
		}
		now := d.now()
		q := userdata.Queueing{LastAttempt: len(d.cfg.Schedule) + 1, Now: now, Until: now.Add(d.cfg.Lease)}
		q.Leased = d.reserve(wh, len(msgs), now)
		moved, err := d.store.FanOut(ctx, f, page.Next, msgs, q)
		if err != nil {
			d.warn(ctx, "webhooks: queueing deliveries failed; trying again later", err, "webhook_id", wh.ID)
		}
		if !moved {
			d.release(wh.ID, q.Leased)
			return out
		}
		for _, m := range msgs[:q.Leased] {
			out = append(out, userdata.LeasedDelivery(wh, m, q.LastAttempt, now, q.Until))
		}
		if len(page.Changes) < fanoutBatch {
			return out
		}
		f.Cursor = page.Next
	}
	return out
}

// skipPruned moves the cursor of a webhook whose next changes were pruned
// (which PruneChanges does not do while it is enabled) to the head of the
// log.
func (d *Deliverer) skipPruned(ctx context.Context, f *userdata.Fanout) {
	page, err := d.store.Changes(ctx, f.Webhook.EnvironmentID, userdata.ChangeQuery{After: userdata.CursorNow, Limit: 1, Types: everything})
	if err == nil {
		_, err = d.store.FanOut(ctx, f, page.Next, nil, userdata.Queueing{Now: d.now()})
	}
	if err != nil {
		d.warn(ctx, "webhooks: skipping pruned changes failed; trying again later", err, "webhook_id", f.Webhook.ID)
		return
	}
	d.log.Warn("webhooks: changes were pruned before they were queued to a webhook; it resumes at the head of the log",
		"webhook_id", f.Webhook.ID, "environment_id", f.Webhook.EnvironmentID)
}

// send makes the next attempt at a claimed delivery and hands its result
// to the recorder, unless ctx ended meanwhile (the attempt is abandoned).
func (d *Deliverer) send(ctx context.Context, dl *userdata.Delivery, results chan<- *userdata.Result) {
	a, retryAfter := d.attempt(ctx, dl, dl.Attempts+1)
	if ctx.Err() != nil {
		return
	}
	results <- d.settle(dl, a, retryAfter)
}

// recorder records results in batches until results is closed, freeing
// their slots once they are recorded (or their recording failed: their
// leases then end, and they are sent again).
func (d *Deliverer) recorder(results <-chan *userdata.Result) {
	ctx := context.Background()
	for r := range results {
		batch := []*userdata.Result{r}
	more:
		for len(batch) < recordBatch {
			select {
			case r, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if err := d.record(ctx, batch); err != nil {
			d.warn(ctx, "webhooks: recording attempts failed; their deliveries are sent again when their leases end", err)
		}
		for _, r := range batch {
			d.release(r.Delivery.WebhookID, 1)
		}
		select {
		case d.freed <- struct{}{}:
		default:
		}
	}
}

// prune removes settled deliveries past the retention now and every
// pruneEvery, until ctx is done.
func (d *Deliverer) prune(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		for {
			n, err := d.store.PruneDeliveries(ctx, d.now().Add(-d.cfg.Retention), pruneBatch)
			if err != nil {
				d.warn(ctx, "webhooks: pruning deliveries failed; trying again later", err)
			}
			if err != nil || n < pruneBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// warn logs a failure, unless it is ctx ending.
func (d *Deliverer) warn(ctx context.Context, msg string, err error, args ...any) {
	if ctx.Err() == nil {
		d.log.Warn(msg, append(args, "err", err)...)
	}
}
