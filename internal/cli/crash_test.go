package cli_test

import (
	"fmt"
	"net/http"
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
		t.Logf("%d acknowledged writes, all present after SIGKILL and restart", len(acked.List()))
	})
}
