package cli_test

import (
	"bufio"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tourd/internal/backendtest"
)

// TestTwoNodes runs two tourd processes on one PostgreSQL database and
// sends interleaved concurrent upserts of the same ids, new and existing,
// each with its own attribute key, to both.
func TestTwoNodes(t *testing.T) {
	db := backendtest.Postgres.DSN(t)
	key := newKey(t, db)
	nodes := []*server{serve(t, db), serve(t, db)}
	for i := range 3 {
		if code, _ := nodes[i%2].request(t, "POST", "/v1/users", key, strings.NewReader(fmt.Sprintf(`{"id":"old-%d","attributes":{"seed":true}}`, i))); code != 201 {
			t.Fatalf("seeding old-%d: status %d", i, code)
		}
	}
	ids := []string{"old-0", "old-1", "old-2", "new-0", "new-1", "new-2"}
	const workers = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	for w := range workers {
		wg.Go(func() {
			for r := range len(ids) {
				id := ids[(w+r)%len(ids)]
				body := fmt.Sprintf(`{"id":%q,"attributes":{"w%d":%d},"memberships":[{"company":{"id":"co-%d"},"attributes":{"w%d":true}}]}`, id, w, r, w%2, w)
				code, _ := nodes[(w+r)%2].request(t, "POST", "/v1/users", key, strings.NewReader(body))
				if code != 200 && code != 201 {
					t.Errorf("worker %d: upsert %s: status %d", w, id, code)
				}
				mu.Lock()
				if code == 201 {
					created[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		want := 0
		if strings.HasPrefix(id, "new") {
			want = 1
		}
		if created[id] != want {
			t.Errorf("%s answered 201 %d times, want %d", id, created[id], want)
		}
	}
	for n, node := range nodes {
		code, list := node.request(t, "GET", "/v1/users?limit=100", key, nil)
		if code != 200 || len(list["results"].([]any)) != len(ids) {
			t.Fatalf("node %d lists %v", n, list)
		}
		for _, u := range list["results"].([]any) {
			attrs := u.(map[string]any)["attributes"].(map[string]any)
			for w := range workers {
				if _, ok := attrs[fmt.Sprintf("w%d", w)]; !ok {
					t.Errorf("node %d: %s lost the write of worker %d", n, u.(map[string]any)["id"], w)
				}
			}
		}
	}
	for c := range 2 {
		_, co := nodes[c].request(t, "GET", fmt.Sprintf("/v1/companies/co-%d?expand=memberships", c), key, nil)
		if ms := co["memberships"].([]any); len(ms) != len(ids) {
			t.Errorf("co-%d has %d memberships, want %d", c, len(ms), len(ids))
		}
	}
}

// One SQLite file serves one server at a time: a second one waits for the
// first to stop (as in a restart) and then takes over; key commands work
// beside either. Scaling out is PostgreSQL's job.
func TestSQLiteServesOneNode(t *testing.T) {
	db := backendtest.SQLite.DSN(t)
	key := newKey(t, db)
	first := serve(t, db)
	second := exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--db", db)
	stderr, err := second.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { second.Process.Kill(); second.Wait() }()
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				started <- m[1]
			}
		}
	}()
	select {
	case <-started:
		t.Fatal("a second server started while the first held the database")
	case <-time.After(500 * time.Millisecond):
	}
	newKey(t, db)
	first.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case addr := <-started:
		s := &server{base: "http://" + addr}
		if code, _ := s.request(t, "GET", "/v1/users", key, nil); code != 200 {
			t.Errorf("the second server answers %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second server did not take over after the first stopped")
	}
}
