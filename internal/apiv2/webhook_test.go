package apiv2_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"tourd/internal/apiv2"
	"tourd/internal/backendtest"
	"tourd/internal/httpapi"
	"tourd/internal/userdata"
	"tourd/internal/webhook"
	"tourd/internal/webhook/webhooktest"
)

// testHookNames resolves the host names of the webhook tests, which never
// ask a real DNS server; the others do not exist.
var testHookNames = webhooktest.Resolver{
	"hooks.example.com":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
	"internal.example.com": {"10.0.4.17"},
	"rebind.example.com":   {"93.184.215.14", "127.0.0.1"},
}

// webhookConfig is the configuration of the webhook tests: no rate
// limits, testHookNames, the secrets kept by keys (nil: as they are).
func webhookConfig(allowPrivate bool, keys *webhook.Keyring) apiv2.Config {
	return apiv2.Config{WebhookGuard: &webhook.Guard{Resolver: testHookNames, AllowPrivate: allowPrivate}, Secrets: keys}
}

func webhookEnv(t *testing.T, b backendtest.Backend, keys *webhook.Keyring) *env {
	t.Helper()
	return newEnv(t, b, webhookConfig(false, keys))
}

// webhookObject matches the wire form of a webhook, in Usertour's key
// order; the groups are the id, createdAt and what follows autoDisabledAt
// (the secret member, or nothing).
func webhookObject(rest string) *regexp.Regexp {
	return regexp.MustCompile(`^\{"id":"(c[0-9a-z]{24})","object":"webhook","createdAt":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)",` + rest + `\}\n?$`)
}

// TestWebhookObjects: the webhook objects have Usertour's keys in its
// order; the secret is on create, rotate-secret and, for webhook:manage,
// the single read, never in lists nor on update; topics are kept in
// their order without repeats; an absent or empty description is null.
func TestWebhookObjects(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := webhookEnv(t, b, nil)
		manage, read := e.token(e.a, "webhook:manage,webhook:read", e.a0), e.token(e.a, "webhook:read", e.a0)
		hooks := en(e.a, e.a0, "/webhooks")
		created := e.call("POST", hooks, manage, `{"url":"https://hooks.example.com/in?x=1","topics":["user","*","user","event.tracked.page_viewed"],"description":"CRM é"}`)
		created.want(t, 201)
		body := `"url":"https://hooks.example.com/in\?x=1","topics":\["user","\*","event.tracked.page_viewed"\],"enabled":true,"description":"CRM é",` +
			`"consecutiveFailures":0,"cooldownUntil":null,"autoDisabledAt":null`
		withSecret := webhookObject(body + `,"secret":"(whsec_[0-9a-f]{64})"`)
		m := withSecret.FindSubmatch(created.raw)
		if m == nil {
			t.Fatalf("create: %s", created.raw)
		}
		id, secret := string(m[1]), string(m[3])
		item := hooks + "/" + id
		if got := e.call("GET", item, manage, ""); !bytes.Equal(got.raw, created.raw) {
			t.Errorf("get with webhook:manage: %s, want %s", got.raw, created.raw)
		}
		if got := e.call("GET", item, read, ""); !webhookObject(body).Match(got.raw) {
			t.Errorf("get with webhook:read alone: %s", got.raw)
		}
		e.call("POST", hooks, manage, `{"url":"http://hooks.example.com:8080/","topics":["company.deleted"],"enabled":false,"description":""}`).want(t, 201)
		list := e.call("GET", hooks, manage, "").want(t, 200)
		items := results(t, list)
		if len(items) != 2 || items[0]["id"] != id || items[1]["enabled"] != false || items[1]["description"] != nil {
			t.Errorf("list: %v", list)
		}
		for _, it := range items {
			if _, ok := it["secret"]; ok {
				t.Errorf("a list shows a secret: %v", it)
			}
		}
		updated := e.call("PATCH", item, manage, `{"description":""}`)
		updated.want(t, 200)
		if !webhookObject(strings.Replace(body, `"CRM é"`, "null", 1)).Match(updated.raw) {
			t.Errorf("update: %s", updated.raw)
		}
		rotated := e.call("POST", item+"/rotate-secret", manage, `{"ignored":true}`)
		rotated.want(t, 200)
		m = webhookObject(`.*,"secret":"(whsec_[0-9a-f]{64})"`).FindSubmatch(rotated.raw)
		if m == nil || string(m[3]) == secret {
			t.Fatalf("rotate-secret: %s; the secret was %s", rotated.raw, secret)
		}
		if got := e.call("GET", item, manage, "").body["secret"]; got != string(m[3]) {
			t.Errorf("get after rotate-secret: secret %v, want %s", got, m[3])
		}
		e.call("DELETE", item, manage, "").want(t, 204)
		e.call("GET", item, manage, "").wantError(t, 404, "E0061")
		e.call("POST", item+"/rotate-secret", manage, "").wantError(t, 404, "E0061")
	})
}

// TestWebhookBodies: the bodies of POST and PATCH follow Usertour's DTOs:
// 400 E1017 with a message naming what is wrong, nothing written.
func TestWebhookBodies(t *testing.T) {
	e := webhookEnv(t, backendtest.SQLite, nil)
	tok := e.all()
	hooks := en(e.a, e.a0, "/webhooks")
	id := e.call("POST", hooks, tok, `{"url":"https://hooks.example.com/","topics":["*"]}`).want(t, 201)["id"].(string)
	many := strings.Repeat(`"user",`, 100) + `"user"`
	for _, tt := range []struct{ body, message string }{
		{`{"topics":["*"]}`, "url is required"},
		{`{"url":"https://hooks.example.com/"}`, "topics is required"},
		{`{"url":null,"topics":["*"]}`, "url must be a string"},
		{`{"url":"hooks.example.com","topics":["*"]}`, "url must be an http(s) URL"},
		{`{"url":"https://","topics":["*"]}`, "url must be a valid URL"},
		{`{"url":"https://hooks.example.com/` + strings.Repeat("a", 2064) + `","topics":["*"]}`, "url must be at most 2083 characters long"},
		{`{"url":"https://hooks.example.com/","topics":"*"}`, "topics must be an array of strings"},
		{`{"url":"https://hooks.example.com/","topics":[1]}`, "topics must be an array of strings"},
		{`{"url":"https://hooks.example.com/","topics":[]}`, "At least one topic subscription is required."},
		{`{"url":"https://hooks.example.com/","topics":[` + many + `]}`, "At most 100 topic subscriptions per endpoint."},
		{`{"url":"https://hooks.example.com/","topics":[""]}`, "topics[0] must be 1 to 200 characters long"},
		{`{"url":"https://hooks.example.com/","topics":["user","event.tracked.` + strings.Repeat("x", 187) + `"]}`, "topics[1] must be 1 to 200 characters long"},
		{`{"url":"https://hooks.example.com/","topics":["page_viewed"]}`, `Invalid topic subscription "page_viewed"`},
		{`{"url":"https://hooks.example.com/","topics":["*"],"enabled":null}`, "enabled must be a boolean"},
		{`{"url":"https://hooks.example.com/","topics":["*"],"enabled":1}`, "enabled must be a boolean"},
		{`{"url":"https://hooks.example.com/","topics":["*"],"description":null}`, "description must be a string"},
		{`{"url":"https://hooks.example.com/","topics":["*"],"description":"` + strings.Repeat("é", 201) + `"}`, "description must be at most 200 characters long"},
		{`{"url":"https://hooks.example.com/","topics":["*"],"description":"a\u0000b"}`, "description must not contain NUL characters"},
		{`{"url":"https://hooks.example.com/","topics":["*"],"secret":"whsec_mine"}`, `secret: Unrecognized key: "secret"`},
	} {
		for _, call := range []struct{ method, path string }{{"POST", hooks}, {"PATCH", hooks + "/" + id}} {
			if call.method == "PATCH" && strings.HasSuffix(tt.message, "is required") {
				continue
			}
			res := e.call(call.method, call.path, tok, tt.body)
			res.wantError(t, 400, "E1017")
			if msg := res.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, tt.message) {
				t.Errorf("%s %.80s: message %q, want %q", call.method, tt.body, msg, tt.message)
			}
		}
	}
	if got := results(t, e.call("GET", hooks, tok, "").want(t, 200)); len(got) != 1 || got[0]["url"] != "https://hooks.example.com/" || got[0]["description"] != nil {
		t.Errorf("after refused bodies: %v", got)
	}
}

// TestWebhookURLGuard: a URL whose host is, or resolves to, an address
// webhooks may not reach is 400 E0054, saying why; a name that does not
// resolve is accepted; TOURD_WEBHOOK_ALLOW_PRIVATE allows them all.
func TestWebhookURLGuard(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		e := webhookEnv(t, b, nil)
		tok := e.all()
		hooks := en(e.a, e.a0, "/webhooks")
		id := e.call("POST", hooks, tok, `{"url":"https://hooks.example.com/","topics":["*"]}`).want(t, 201)["id"].(string)
		refused := map[string]string{
			"https://internal.example.com/hook":       "internal.example.com resolves to 10.0.4.17, a private address",
			"https://rebind.example.com/hook":         "rebind.example.com resolves to 127.0.0.1, a loopback address",
			"http://localhost:8080/":                  "localhost is the local host",
			"http://169.254.169.254/latest/meta-data": "169.254.169.254 is a link-local address (cloud metadata services among them)",
			"http://[fd00:ec2::254]/":                 "fd00:ec2::254 is a private address",
			"http://[::ffff:127.0.0.1]/":              "::ffff:127.0.0.1 is a loopback address",
			"https://100.64.0.1/":                     "100.64.0.1 is a shared (CGNAT) address",
		}
		for url, why := range refused {
			for _, call := range []struct{ method, path, body string }{
				{"POST", hooks, `{"url":"` + url + `","topics":["*"]}`},
				{"PATCH", hooks + "/" + id, `{"url":"` + url + `"}`},
			} {
				res := e.call(call.method, call.path, tok, call.body)
				res.wantError(t, 400, "E0054")
				if msg, want := res.body["error"].(map[string]any)["message"], "This URL must be a publicly reachable HTTP(S) address — "+why; msg != want {
					t.Errorf("%s %s: message %q, want %q", call.method, url, msg, want)
				}
			}
		}
		if got := e.call("GET", hooks+"/"+id, tok, "").want(t, 200)["url"]; got != "https://hooks.example.com/" {
			t.Errorf("after refused changes, url %v", got)
		}
		// Unknown webhook first, then the URL.
		e.call("PATCH", hooks+"/nope", tok, `{"url":"https://127.0.0.1/"}`).wantError(t, 404, "E0061")
		for _, url := range []string{"http://hooks.example.com/", "https://nowhere.invalid/", "https://[2606:4700::1111]:8443/x"} {
			e.call("POST", hooks, tok, `{"url":"`+url+`","topics":["*"]}`).want(t, 201)
		}
		open := &env{t: t, srv: serveOn(t, e.store, webhookConfig(true, nil)), store: e.store, a: e.a, a0: e.a0}
		for url := range refused {
			open.call("POST", hooks, tok, `{"url":"`+url+`","topics":["*"]}`).want(t, 201)
		}
	})
}

// TestWebhookSecretsAtRest: with TOURD_SECRET_KEY, secrets are stored
// encrypted and read back whole; a server with another key reads them as
// "" (rotate-secret mends that), one with the old key among its old keys
// reads them; secrets stored before the key was set still read.
func TestWebhookSecretsAtRest(t *testing.T) {
	forBackends(t, func(t *testing.T, b backendtest.Backend) {
		key, other := strings.Repeat("1f", 32), strings.Repeat("2e", 32)
		plain := webhookEnv(t, b, nil)
		tok := plain.all()
		hooks := en(plain.a, plain.a0, "/webhooks")
		before := plain.call("POST", hooks, tok, `{"url":"https://hooks.example.com/a","topics":["*"]}`).want(t, 201)
		server := func(k *webhook.Keyring) *env {
			return &env{t: t, srv: serveOn(t, plain.store, webhookConfig(false, k)), store: plain.store, a: plain.a, a0: plain.a0}
		}
		sealed := server(webhooktest.Keyring(t, key))
		created := sealed.call("POST", hooks, tok, `{"url":"https://hooks.example.com/b","topics":["*"]}`).want(t, 201)
		secret, id := created["secret"].(string), created["id"].(string)
		stored, err := plain.store.GetWebhook(t.Context(), userdata.Tenant{ProjectID: plain.a.ID, EnvironmentID: plain.a0}, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored.Secret, "enc1:") || strings.Contains(stored.Secret, secret[len("whsec_"):]) {
			t.Errorf("stored secret %q: not sealed, or shows the secret", stored.Secret)
		}
		for name, tt := range map[string]struct {
			k          *webhook.Keyring
			want, plan any
		}{
			"the key":            {webhooktest.Keyring(t, key), secret, before["secret"]},
			"another key":        {webhooktest.Keyring(t, other), "", before["secret"]},
			"no key":             {nil, "", before["secret"]},
			"the key as old key": {webhooktest.Keyring(t, other, key), secret, before["secret"]},
		} {
			s := server(tt.k)
			if got := s.call("GET", hooks+"/"+id, tok, "").want(t, 200)["secret"]; got != tt.want {
				t.Errorf("%s: secret %v, want %v", name, got, tt.want)
			}
			if got := s.call("GET", hooks+"/"+before["id"].(string), tok, "").want(t, 200)["secret"]; got != tt.plan {
				t.Errorf("%s: a secret stored before the key: %v, want %v", name, got, tt.plan)
			}
		}
		mended := server(webhooktest.Keyring(t, other))
		fresh := mended.call("POST", hooks+"/"+id+"/rotate-secret", tok, "").want(t, 200)["secret"]
		if got := mended.call("GET", hooks+"/"+id, tok, "").want(t, 200)["secret"]; got != fresh || !secretForm.MatchString(fmt.Sprint(got)) {
			t.Errorf("after rotate-secret with the new key: %v, want %v", got, fresh)
		}
	})
}

// TestWebhookSecretsNeverLogged: no log line holds a webhook's secret,
// whatever the route.
func TestWebhookSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	store := backendtest.SQLite.Open(t)
	api := httpapi.New(store, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), "")
	apiv2.Register(api, store, webhookConfig(false, nil))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e := newEnvOn(t, store, noLimits)
	e.srv = srv
	tok := e.all()
	hooks := en(e.a, e.a0, "/webhooks")
	created := e.call("POST", hooks, tok, `{"url":"https://hooks.example.com/","topics":["*"]}`).want(t, 201)
	item := hooks + "/" + created["id"].(string)
	secrets := []string{created["secret"].(string), e.call("GET", item, tok, "").want(t, 200)["secret"].(string),
		e.call("POST", item+"/rotate-secret", tok, "").want(t, 200)["secret"].(string)}
	e.call("PATCH", item, tok, `{"secret":"x"}`).wantError(t, 400, "E1017")
	e.call("GET", hooks, tok, "").want(t, 200)
	if logs.Len() == 0 {
		t.Fatal("no request was logged")
	}
	for _, s := range secrets {
		if bytes.Contains(logs.Bytes(), []byte(s[len("whsec_"):])) {
			t.Errorf("the log holds the secret %s:\n%s", s, logs.String())
		}
	}
}
