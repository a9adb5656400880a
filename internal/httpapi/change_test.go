package httpapi_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// feedPage is an answer of the feed, its items kept as sent.
type feedPage struct {
	Object  string            `json:"object"`
	Results []json.RawMessage `json:"results"`
	Next    string            `json:"next"`
}

func (e *env) feed(t *testing.T, query string) feedPage {
	t.Helper()
	res := e.do("GET", "/v1/changes?"+query, "")
	res.want(t, 200)
	var p feedPage
	if err := json.Unmarshal(res.raw, &p); err != nil || p.Object != "list" || p.Results == nil || p.Next == "" {
		t.Fatalf("GET /v1/changes?%s = %s (%v)", query, res.raw, err)
	}
	return p
}

// envelope decodes one item of the feed.
func envelope(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// GET /v1/changes serves the envelopes of webhooks.md §1 in commit order
// and pages on next; the same change reads back as the same bytes.
func TestChangeFeed(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		start := e.feed(t, "after=now")
		if len(start.Results) != 0 {
			t.Fatalf("after=now: %d results", len(start.Results))
		}
		e.do("POST", "/v1/users", `{"id":"u1","attributes":{"plan":"pro"},"memberships":[{"company":{"id":"acme"},"attributes":{"role":"admin"}}]}`).want(t, 201)
		e.do("POST", "/v1/users", `{"id":"u1","attributes":{"plan":"team","x":1}}`).want(t, 200)
		e.do("POST", "/v1/users", `{"id":"u1","attributes":{"plan":"team"}}`).want(t, 200) // no change
		e.do("POST", "/v1/events", `{"userId":"u1","companyId":"acme","name":"checkout","attributes":{"total":3}}`).want(t, 201)
		e.do("DELETE", "/v1/company-memberships?userId=u1&companyId=acme", "").want(t, 200)
		e.do("DELETE", "/v1/users/u1", "").want(t, 200)

		var items []json.RawMessage
		after := start.Next
		for {
			p := e.feed(t, "limit=2&after="+url.QueryEscape(after))
			if len(p.Results) > 2 {
				t.Fatalf("limit=2 gave %d", len(p.Results))
			}
			if len(p.Results) == 0 {
				if p.Next != after {
					t.Errorf("an empty page moved next from %q to %q", after, p.Next)
				}
				break
			}
			items, after = append(items, p.Results...), p.Next
		}
		var types []string
		for _, it := range items {
			m := envelope(t, it)
			types = append(types, m["type"].(string))
			if m["object"] != "webhookMessage" || m["environmentId"] == "" || m["createdAt"] == nil {
				t.Errorf("envelope %s", it)
			}
		}
		want := []string{"user.created", "company.created", "membership.created", "user.updated", "event.tracked.checkout", "membership.deleted", "user.deleted"}
		if !slices.Equal(types, want) {
			t.Fatalf("types %q, want %q", types, want)
		}
		updated := envelope(t, items[3])["data"].(map[string]any)
		if prev, _ := json.Marshal(updated["previousAttributes"]); string(prev) != `{"plan":"pro"}` {
			t.Errorf("previousAttributes %s", prev)
		}
		if u := updated["user"].(map[string]any); u["id"] != "u1" || u["object"] != "user" || u["companies"] != nil || u["attributes"].(map[string]any)["x"] != 1.0 {
			t.Errorf("user.updated's user %v", u)
		}
		ev := envelope(t, items[4])["data"].(map[string]any)["event"].(map[string]any)
		if ev["codeName"] != "checkout" || ev["userId"] != "u1" || ev["companyId"] != "acme" || ev["eventDefinitionId"] == "" ||
			ev["sessionId"] != nil || ev["object"] != "event" {
			t.Errorf("event %v", ev)
		}
		// The same change, read again from the start and filtered, is the
		// same bytes.
		p := e.feed(t, "types=event.tracked&after="+url.QueryEscape(start.Next))
		if len(p.Results) != 1 || string(p.Results[0]) != string(items[4]) {
			t.Errorf("types=event.tracked: %s, want %s", p.Results, items[4])
		}
		for _, q := range []string{"limit=0", "limit=1001", "wait=61", "wait=x", "types=", "types=users", "types=user&types=user.updated%2Cbad"} {
			e.do("GET", "/v1/changes?"+q, "").wantError(t, 400, "E1017")
		}
		e.do("GET", "/v1/changes?after=x1", "").wantError(t, 400, "E1007")
		e.call("GET", "/v1/changes", "", "").wantError(t, 401, "E1010")
	})
}

// A waiting reader answers as soon as a change commits, and after wait
// seconds with nothing.
func TestChangeFeedWait(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		got := make(chan feedPage, 1)
		begun := time.Now()
		go func() { got <- e.feed(t, "after=now&wait=20") }()
		time.Sleep(300 * time.Millisecond)
		e.do("POST", "/v1/users", `{"id":"late"}`).want(t, 201)
		committed := time.Now()
		select {
		case p := <-got:
			if len(p.Results) != 1 || envelope(t, p.Results[0])["type"] != "user.created" {
				t.Fatalf("the waiting reader got %s", p.Results)
			}
			t.Logf("answered %v after the commit", time.Since(committed))
		case <-time.After(10 * time.Second):
			t.Fatal("the waiting reader did not answer within 10 s of the commit")
		}
		if time.Since(begun) > 10*time.Second {
			t.Fatal("the reader waited for its whole wait")
		}
		begun = time.Now()
		p := e.feed(t, "after=now&wait=1")
		if d := time.Since(begun); len(p.Results) != 0 || d < time.Second || d > 5*time.Second {
			t.Errorf("wait=1 with nothing: %d results after %v", len(p.Results), d)
		}
		if again := e.feed(t, "after="+url.QueryEscape(p.Next)); len(again.Results) != 0 || again.Next != p.Next {
			t.Errorf("after the empty wait: %d results, next %q (was %q)", len(again.Results), again.Next, p.Next)
		}
	})
}
