package cli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tourd/internal/backendtest"
	"tourd/internal/webhook"
)

// tourd serve delivers webhooks: a change made through the API reaches a
// receiver, signed with the secret the API showed, and is retried on the
// schedule given; the deliveries and a test message are served; SIGTERM
// stops the deliverer with the server.
func TestWebhookEndToEnd(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		db := b.DSN(t)
		if b.Name == "sqlite" {
			newKey(t, db) // creates the database
		}
		var p struct {
			ID           string
			Environments []struct{ ID string }
		}
		if err := json.Unmarshal([]byte(tourd(t, "projects", "create", "--db", db, "--name", "acme", "--json")), &p); err != nil {
			t.Fatal(err)
		}
		env := p.Environments[0].ID
		token := lastLine(tourd(t, "tokens", "create", "--db", db, "--project", p.ID, "--scopes", "user:write,webhook:read,webhook:manage", "--environments", env))
		type hit struct {
			header http.Header
			body   []byte
		}
		hits := make(chan hit, 10)
		var n atomic.Int32
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			hits <- hit{r.Header.Clone(), body}
			if n.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails
			}
		}))
		defer rc.Close()
		s := serve(t, db, "--webhook-allow-private", "1", "--webhook-retry-schedule", "200ms")
		E := "/v2/projects/" + p.ID + "/environments/" + env
		call := func(method, path, body string, want int) map[string]any {
			t.Helper()
			code, out := s.request(t, method, E+path, token, strings.NewReader(body))
			if code != want {
				t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
			}
			return out
		}
		created := call("POST", "/webhooks", `{"url":"`+rc.URL+`/in","topics":["user"]}`, 201)
		id, secret := created["id"].(string), created["secret"].(string)
		call("PUT", "/users/usr_1", `{"attributes":{"plan":"pro"}}`, 200)

		var first, second hit
		for i, h := range []*hit{&first, &second} {
			select {
			case *h = <-hits:
			case <-time.After(10 * time.Second):
				t.Fatalf("attempt %d did not arrive", i+1)
			}
		}
		for _, h := range []hit{first, second} {
			ts, _ := strconv.ParseInt(h.header.Get("Webhook-Timestamp"), 10, 64)
			if got := h.header.Get(webhook.HeaderSignature); got != webhook.Sign(secret, ts, h.body) {
				t.Errorf("X-Usertour-Signature %q does not verify with the secret", got)
			}
		}
		var msg struct{ ID, Type string }
		if err := json.Unmarshal(second.body, &msg); err != nil || msg.Type != "user.created" || second.header.Get("Webhook-Id") != msg.ID ||
			first.header.Get("Webhook-Id") != msg.ID {
			t.Errorf("the delivered message %s (%v), ids %q %q", second.body, err, first.header.Get("Webhook-Id"), second.header.Get("Webhook-Id"))
		}
		var list map[string]any
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			list = call("GET", "/webhooks/"+id+"/deliveries?status=succeeded", "", 200)
			if len(list["results"].([]any)) == 1 || time.Now().After(deadline) {
				break
			}
		}
		results := list["results"].([]any)
		if len(results) != 1 {
			t.Fatalf("succeeded deliveries: %v", list)
		}
		d := results[0].(map[string]any)
		if attempts := d["attempts"].([]any); d["id"] != msg.ID || len(attempts) != 2 || attempts[0].(map[string]any)["responseStatus"] != 503.0 {
			t.Errorf("the delivery %v", d)
		}
		test := call("POST", "/webhooks/"+id+"/test", "", 200)
		if test["type"] != "webhook.test" || test["status"] != "succeeded" {
			t.Errorf("the test's delivery %v", test)
		}
		if h := <-hits; !strings.Contains(string(h.body), `"type":"webhook.test"`) {
			t.Errorf("the test message %s", h.body)
		}

		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("serve after SIGTERM: %v\n%s", err, s.logs.String())
			}
			s.done <- err // for the cleanup
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop after SIGTERM")
		}
		if logs := s.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, `"plan":"pro"`) {
			t.Errorf("the log shows a secret or a body:\n%s", logs)
		}
	})
}
