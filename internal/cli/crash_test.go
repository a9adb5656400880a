package cli_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// TestCrashDurability kills the server with SIGKILL while writers are busy,
// restarts it on the same database, and checks that every write it
// acknowledged is there with its attributes.
func TestCrashDurability(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		db := b.DSN(t)
		key := newKey(t, db)
		s := serve(t, db)
		type write struct{ id, attr string }
		var (
			acked backendtest.Acked[write]
			stop  atomic.Bool
			wg    sync.WaitGroup
		)
		client := &http.Client{Timeout: 5 * time.Second}
		for w := range 16 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					id := fmt.Sprintf("user-%d", (w*7+i)%40) // shared ids: merges, not only inserts
					attr := fmt.Sprintf("w%d_%d", w, i)
					body := fmt.Sprintf(`{"id":%q,"attributes":{%q:%d},"companies":[{"id":"co-%d"}]}`, id, attr, i, i%5)
					req, _ := http.NewRequest("POST", s.base+"/v1/users", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					res, err := client.Do(req)
					if err != nil {
						return // the server is gone
					}
					res.Body.Close()
					if res.StatusCode == 200 || res.StatusCode == 201 {
						acked.Add(write{id, attr})
					}
				}
			})
		}
		// Kill once enough writes are acknowledged, while the load goes on.
		acked.WaitFor(t, 1000)
		if err := s.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		stop.Store(true)
		wg.Wait()
		s2 := serve(t, db)
		stored := map[string]map[string]any{}
		for _, w := range acked.List() {
			if stored[w.id] == nil {
				code, u := s2.request(t, "GET", "/v1/users/"+w.id+"?expand=companies", key, nil)
				if code != 200 {
					t.Fatalf("acknowledged user %s: status %d after restart", w.id, code)
				}
				stored[w.id] = u["attributes"].(map[string]any)
			}
			if _, ok := stored[w.id][w.attr]; !ok {
				t.Errorf("acknowledged write %s.%s lost in the crash", w.id, w.attr)
			}
		}
		// Every acknowledged write recorded its change in the same
		// transaction (webhooks.md §1): read the log whole and find, for
		// each write, the change of its user where its key first appears;
		// each change adds exactly one key, its write's.
		seen := map[write]bool{}
		keys := map[string]map[string]bool{}
		after := ""
		for {
			code, page := s2.request(t, "GET", "/v1/changes?types=user&limit=1000&after="+url.QueryEscape(after), key, nil)
			if code != 200 {
				t.Fatalf("GET /v1/changes: %d %v", code, page)
			}
			results := page["results"].([]any)
			for _, r := range results {
				u := r.(map[string]any)["data"].(map[string]any)["user"].(map[string]any)
				id, now := u["id"].(string), u["attributes"].(map[string]any)
				added := 0
				for k := range now {
					if !keys[id][k] && strings.HasPrefix(k, "w") {
						seen[write{id, k}] = true
						added++
					}
				}
				if added != 1 { // each write adds one key: a change that adds more stands for a lost one
					t.Errorf("a change of %s adds %d keys: %v", id, added, now)
				}
				keys[id] = map[string]bool{}
				for k := range now {
					keys[id][k] = true
				}
			}
			if len(results) == 0 {
				break
			}
			after = page["next"].(string)
		}
		for _, w := range acked.List() {
			if !seen[w] {
				t.Errorf("acknowledged write %s.%s has no change in the log after the crash", w.id, w.attr)
			}
		}
		t.Logf("%d acknowledged writes, all present, with their changes, after SIGKILL and restart", len(acked.List()))
	})
}
