package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/deliver"
	"tourd/internal/userdata"
	"tourd/internal/userdata/storetest"
	"tourd/internal/webhook"
)

// received is a request a receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a webhook receiver on the loopback interface: it answers
// each request as answer says (200 "ok" when nil), given how many it got
// before.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter)
	ch     chan received
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{answer: answer, ch: make(chan received, 100_000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{header: r.Header.Clone(), body: body, at: time.Now()}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		rc.ch <- got
		if rc.answer == nil {
			io.WriteString(w, "ok")
			return
		}
		rc.answer(n, w)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// count returns how many requests the receiver got.
func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// next returns the next request, failing the test if none comes within
// 10 seconds.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-rc.ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got no request")
		return received{}
	}
}

// quiet checks that the receiver gets no request for a while.
func (rc *receiver) quiet(t *testing.T, what string) {
	t.Helper()
	select {
	case r := <-rc.ch:
		t.Errorf("%s: the receiver got %s", what, r.body)
	case <-time.After(300 * time.Millisecond):
	}
}

// envelope is what tests read of a delivered body.
type envelope struct {
	ID, Type, EnvironmentID string
	Data                    map[string]json.RawMessage
}

func (r received) envelope(t *testing.T) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("a delivered body is not an envelope: %v: %s", err, r.body)
	}
	return e
}

// clock is real time moved forward by Advance.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// fixture is a store with an environment, and what tests make of it.
type fixture struct {
	t     testing.TB
	store userdata.Store
	tn    userdata.Tenant
}

func newFixture(t testing.TB, store userdata.Store) *fixture {
	return &fixture{t: t, store: store, tn: storetest.Tenant(t, store, "p", "e")}
}

// hook creates an enabled webhook of the environment to url with topics
// and returns it, and its secret.
func (f *fixture) hook(url string, topics ...string) (*userdata.Webhook, string) {
	f.t.Helper()
	secret := webhook.NewSecret()
	wh, err := f.store.CreateWebhook(f.t.Context(), f.tn, &userdata.WebhookInput{URL: url, Topics: topics, Enabled: true, Secret: secret})
	if err != nil {
		f.t.Fatal(err)
	}
	return wh, secret
}

// user upserts user id with a name.
func (f *fixture) user(id, name string) {
	f.t.Helper()
	in := &userdata.UserUpsert{ExternalID: id, Attributes: userdata.Attributes{"name": json.RawMessage(fmt.Sprintf("%q", name))}}
	if _, _, err := f.store.UpsertUser(f.t.Context(), f.tn, in); err != nil {
		f.t.Fatal(err)
	}
}

// company upserts company id.
func (f *fixture) company(id string) {
	f.t.Helper()
	if _, _, err := f.store.UpsertCompany(f.t.Context(), f.tn, &userdata.CompanyUpsert{ExternalID: id}); err != nil {
		f.t.Fatal(err)
	}
}

// setEnabled enables or disables a webhook.
func (f *fixture) setEnabled(id string, on bool) *userdata.Webhook {
	f.t.Helper()
	wh, err := f.store.UpdateWebhook(f.t.Context(), f.tn, id, &userdata.WebhookUpdate{Enabled: &on})
	if err != nil {
		f.t.Fatal(err)
	}
	return wh
}

// webhook reads a webhook.
func (f *fixture) webhook(id string) *userdata.Webhook {
	f.t.Helper()
	wh, err := f.store.GetWebhook(f.t.Context(), f.tn, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return wh
}

// deliveries lists a webhook's deliveries, newest first.
func (f *fixture) deliveries(id string, status userdata.DeliveryStatus) []*userdata.Delivery {
	f.t.Helper()
	l, err := f.store.ListDeliveries(f.t.Context(), f.tn, id, status,
		userdata.PageRequest{Limit: 100, Sort: []userdata.Sort{{Field: userdata.SortCreatedAt, Desc: true}}, IDFollowsSort: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return l.Items
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}

// start runs a deliverer of store with cfg (private addresses allowed, a
// fast poll, unless cfg says otherwise) until the test ends, and returns
// it and a function that stops it and waits for it.
func start(t testing.TB, store userdata.Store, cfg deliver.Config) (*deliver.Deliverer, func()) {
	if cfg.Guard == nil {
		cfg.Guard = &webhook.Guard{AllowPrivate: true}
	}
	if cfg.Poll == 0 {
		cfg.Poll = 20 * time.Millisecond
	}
	d := deliver.New(store, cfg, backendtest.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return d, stop
}
