package httpapi_test

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/backendtest"
)

func TestAttributeDefinitions(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		e.do("POST", "/v1/users", `{"id":"u","attributes":{"plan":"pro","age":30,"vip":true,"tags":["a"],"prefs":{"a":1},
			"seen":"2024-01-01T00:00:00.000Z","when":"2024-02-30T00:00:00Z","gone":null},
			"memberships":[{"company":{"id":"c","attributes":{"size":10}},"attributes":{"role":"admin"}}]}`).want(t, 201)
		all := map[string]map[string]any{}
		var names []string
		link := "/v1/attribute-definitions?limit=100"
		for link != "" {
			body := e.do("GET", link, "").want(t, 200)
			for _, d := range results(t, body) {
				all[d["scope"].(string)+"/"+d["codeName"].(string)] = d
				names = append(names, d["displayName"].(string))
			}
			link, _ = body["next"].(string)
		}
		if len(all) != 76+9 {
			t.Errorf("%d definitions, want 76 seeded + 9 created", len(all))
		}
		if !sort.StringsAreSorted(names) {
			t.Errorf("default order is not displayName: %v", names)
		}
		plan := all["user/plan"]
		if keys(plan) != "codeName,createdAt,created_at,dataType,description,displayName,id,object,scope" ||
			plan["object"] != "attributeDefinition" || plan["description"] != "" || plan["displayName"] != "Plan" {
			t.Errorf("user/plan = %v", plan)
		}
		checkTimes(t, plan)
		for k, want := range map[string]string{"user/plan": "string", "user/age": "number", "user/vip": "boolean", "user/tags": "list",
			"user/prefs": "string", "user/seen": "datetime", "user/when": "string", "company/size": "number",
			"companyMembership/role": "string", "user/email": "string", "eventDefinition/flow_step_number": "number"} {
			if all[k] == nil || all[k]["dataType"] != want {
				t.Errorf("%s: %v, want dataType %s", k, all[k], want)
			}
		}
		if all["user/gone"] != nil {
			t.Error("null created a definition")
		}
		count := func(q string) int {
			return len(results(t, e.do("GET", "/v1/attribute-definitions?limit=100&"+q, "").want(t, 200)))
		}
		for q, want := range map[string]int{"scope=user": 13, "scope=company": 5, "scope=companyMembership": 1,
			"scope=eventDefinition": 66, "scope=content": 13, "scope=question": 13,
			"eventName=page_viewed": 4, "eventName=page_viewed&eventName=flow_started": 10, "eventName[]=page_viewed": 4,
			"eventName=page_viewed&scope=user": 0, "eventName=nope": 0, "eventName=page_viewed,flow_started": 0} {
			if got := count(q); got != want {
				t.Errorf("?%s: %d definitions, want %d", q, got, want)
			}
		}
		for _, q := range []string{"scope=membership", "scope=event", "scope=", "scope=user&scope=company", "scope[]=user",
			"orderBy=name", "eventName=", "limit=0", "limit=101"} {
			e.do("GET", "/v1/attribute-definitions?"+q, "").wantError(t, 400, "E1017")
		}
		for _, order := range []string{"codeName", "-codeName", "displayName", "-displayName", "createdAt", "-createdAt"} {
			body := e.do("GET", "/v1/attribute-definitions?limit=100&scope=user&orderBy="+order, "").want(t, 200)
			field, desc := order, false
			if order[0] == '-' {
				field, desc = order[1:], true
			}
			var vals []string
			for _, d := range results(t, body) {
				vals = append(vals, d[field].(string))
			}
			sorted := sort.StringsAreSorted(vals)
			if desc {
				sorted = sort.IsSorted(sort.Reverse(sort.StringSlice(vals)))
			}
			if !sorted {
				t.Errorf("orderBy=%s: %v", order, vals)
			}
		}
		e.do("GET", "/v1/attribute-definitions?cursor=nope", "").wantError(t, 400, "E1007")
	})
}

func TestEventDefinitions(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, b backendtest.Backend) {
		e := newEnv(t, b)
		var got []string
		link := "/v1/event-definitions?limit=10"
		for pages := 0; link != ""; pages++ {
			body := e.do("GET", link, "").want(t, 200)
			for _, d := range results(t, body) {
				if keys(d) != "codeName,createdAt,created_at,description,displayName,id,object" || d["object"] != "eventDefinition" || d["description"] != "" {
					t.Errorf("event definition %v", d)
				}
				got = append(got, d["codeName"].(string))
			}
			link, _ = body["next"].(string)
			if pages > 0 && body["previous"] == nil {
				t.Errorf("page %d has no previous link", pages)
			}
		}
		if len(got) != 26 || got[0] != "page_viewed" || got[1] != "flow_started" {
			t.Errorf("event definitions: %v", got)
		}
		// Seeded definitions share one createdAt, so -createdAt falls back
		// to the internal id ascending: the same order as createdAt.
		desc := ids(t, e.do("GET", "/v1/event-definitions?orderBy=-createdAt&limit=100", "").want(t, 200))
		asc := ids(t, e.do("GET", "/v1/event-definitions?limit=100", "").want(t, 200))
		if diff := cmp.Diff(asc, desc); diff != "" {
			t.Errorf("ties under -createdAt are not broken by id ascending (-asc +desc):\n%s", diff)
		}
		byCode := results(t, e.do("GET", "/v1/event-definitions?orderBy=codeName&limit=3", "").want(t, 200))
		if byCode[0]["codeName"].(string) > byCode[1]["codeName"].(string) {
			t.Errorf("orderBy=codeName: %v", byCode)
		}
		e.do("GET", "/v1/event-definitions?orderBy=name", "").wantError(t, 400, "E1017")
	})
}
