package httpapi_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

// A timestamp at Go's zero time is kept like any other, not taken for none.
func TestEventAtZeroTime(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u"}`).want(t, 201)
		ev := e.do("POST", "/v1/events", `{"userId":"u","name":"epoch","timestamp":"0001-01-01T00:00:00Z"}`).want(t, 201)
		if ev["createdAt"] != "0001-01-01T00:00:00.000Z" {
			t.Errorf("createdAt %v, want the timestamp sent", ev["createdAt"])
		}
	})
}

func TestEvents(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u","companies":[{"id":"acme"}]}`).want(t, 201)
		ev := e.do("POST", "/v1/events", `{"userId":"u","name":"flow_step_number","companyId":"acme","attributes":{"step":3},"timestamp":"2025-04-27T13:39:47.024Z"}`).want(t, 201)
		want := map[string]any{"object": "event", "name": "flow_step_number", "userId": "u", "companyId": "acme",
			"attributes": map[string]any{"step": 3.0}, "createdAt": "2025-04-27T13:39:47.024Z", "created_at": "2025-04-27T13:39:47.024Z"}
		id := ev["id"]
		delete(ev, "id")
		if diff := cmp.Diff(want, ev); diff != "" || id == "" {
			t.Errorf("POST /v1/events (-want +got):\n%s", diff)
		}
		later := e.do("POST", "/v1/events", `{"userId":"u","name":"checkout"}`).want(t, 201)
		if later["companyId"] != nil || keys(later["attributes"].(map[string]any)) != "" {
			t.Errorf("event without company or attributes: %v", later)
		}
		checkTimes(t, later)
		list := e.do("GET", "/v1/events", "").want(t, 200)
		if got := ids(t, list); len(got) != 2 || got[0] != later["id"] || got[1] != id {
			t.Errorf("events, newest first: %v", got)
		}
		if got := ids(t, e.do("GET", "/v1/events?orderBy=createdAt&limit=1", "").want(t, 200)); len(got) != 1 || got[0] != id {
			t.Errorf("oldest first: %v", got)
		}
		for q, n := range map[string]int{"userId=u": 2, "userId=nope": 0, "companyId=acme": 1, "name=checkout": 1, "name=nope": 0} {
			if got := ids(t, e.do("GET", "/v1/events?"+q, "").want(t, 200)); len(got) != n {
				t.Errorf("GET /v1/events?%s: %d events, want %d", q, len(got), n)
			}
		}
		// The event's definition and its attribute's, title-cased and linked.
		defs := results(t, e.do("GET", "/v1/attribute-definitions?eventName=flow_step_number", "").want(t, 200))
		if len(defs) != 1 || defs[0]["codeName"] != "step" || defs[0]["displayName"] != "Step" || defs[0]["scope"] != "eventDefinition" {
			t.Errorf("definitions of flow_step_number: %v", defs)
		}
		for _, tt := range []struct {
			body, code string
			status     int
		}{
			{`{"userId":"nope","name":"x"}`, "E1001", 404},
			{`{"userId":"u","name":"x","companyId":"nope"}`, "E1002", 404},
			{`{"name":"x"}`, "E1017", 400},
			{`{"userId":"u"}`, "E1017", 400},
			{`{"userId":"u","name":""}`, "E1017", 400},
			{`{"userId":"u","name":"` + strings.Repeat("n", 256) + `"}`, "E1017", 400},
			{`{"userId":"u","name":"x","attributes":[]}`, "E1017", 400},
			{`{"userId":"u","name":"x","timestamp":"yesterday"}`, "E1017", 400},
			{`{"userId":"u","name":"x","timestamp":"9999-12-31T23:59:59-23:59"}`, "E1017", 400}, // year 10000 in UTC
			{`{"userId":"u","name":"x","timestamp":"0000-01-01T00:00:00+00:01"}`, "E1017", 400}, // year -1 in UTC
			{`{"userId":"u","name":5}`, "E1017", 400},
		} {
			e.do("POST", "/v1/events", tt.body).wantError(t, tt.status, tt.code)
		}
		for _, q := range []string{"limit=0", "orderBy=name", "userId=a&userId=b"} {
			e.do("GET", "/v1/events?"+q, "").wantError(t, 400, "E1017")
		}
		e.do("GET", "/v1/events?cursor=nope", "").wantError(t, 400, "E1007")
		e.call("GET", "/v1/events", "", "").wantError(t, 401, "E1010")
		// Deleting the user deletes its events.
		e.do("DELETE", "/v1/users/u", "").want(t, 200)
		if got := ids(t, e.do("GET", "/v1/events", "").want(t, 200)); len(got) != 0 {
			t.Errorf("events of a deleted user: %v", got)
		}
	})
}
