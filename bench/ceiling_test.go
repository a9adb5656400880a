package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCeilingHandler(t *testing.T) {
	h := ceilingHandler()
	do := func(method, path string, body []byte, auth bool) (*httptest.ResponseRecorder, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if auth {
			req.Header.Set("Authorization", "Bearer ak_test")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, rec.Body, err)
		}
		return rec, got
	}
	checkUser := func(got map[string]any, id string) {
		t.Helper()
		if got["id"] != id || got["object"] != "user" {
			t.Errorf("user = %v, want id %q and object user", got, id)
		}
		for _, k := range []string{"attributes", "createdAt", "created_at", "companies", "memberships"} {
			if _, ok := got[k]; !ok {
				t.Errorf("user lacks %q: %v", k, got)
			}
		}
	}

	rec, got := do(http.MethodPost, "/v1/users", upsertBody(7, "2026-11-27T10:00:00.000Z"), true)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/users: %d %s", rec.Code, rec.Body)
	}
	checkUser(got, "bench-user-7")
	if attrs, _ := got["attributes"].(map[string]any); attrs["seats"] != 7.0 || attrs["last_login"] != "2026-11-27T10:00:00.000Z" {
		t.Errorf("attributes = %v, want the request's", got["attributes"])
	}

	rec, got = do(http.MethodPut, "/v2/projects/p1/environments/e1/users/bench-user-7", putV2Body(7, "2026-11-27T10:00:00.000Z"), true)
	if rec.Code != http.StatusOK {
		t.Fatalf("PUT v2 user: %d %s", rec.Code, rec.Body)
	}
	checkUser(got, "bench-user-7")
	if attrs, _ := got["attributes"].(map[string]any); attrs["seats"] != 7.0 || attrs["last_login"] != "2026-11-27T10:00:00.000Z" {
		t.Errorf("attributes = %v, want the request's", got["attributes"])
	}
	if rec, _ := do(http.MethodPut, "/v2/projects/p1/environments/e1/users/bench-user-7", upsertBody(7, "2026-11-27T10:00:00.000Z"), true); rec.Code != http.StatusBadRequest {
		t.Errorf("PUT v2 user with an id member: %d, want 400 (strict body)", rec.Code)
	}
	if rec, _ := do(http.MethodPut, "/v2/projects/p1/environments/e1/users/bench-user-7", putV2Body(7, "2026-11-27T10:00:00.000Z"), false); rec.Code != http.StatusUnauthorized {
		t.Errorf("PUT v2 user without Authorization: %d, want 401", rec.Code)
	}

	rec, got = do(http.MethodGet, "/v1/users/bench-user-3", nil, true)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/users/bench-user-3: %d %s", rec.Code, rec.Body)
	}
	checkUser(got, "bench-user-3")

	if rec, _ := do(http.MethodGet, "/v1/users/bench-user-3", nil, false); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET without Authorization: %d, want 401", rec.Code)
	}
	if rec, _ := do(http.MethodPost, "/v1/users", []byte("{"), true); rec.Code != http.StatusBadRequest {
		t.Errorf("POST with bad JSON: %d, want 400", rec.Code)
	}
}
