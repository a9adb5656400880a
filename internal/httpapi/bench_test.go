package httpapi

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"tourd/internal/backendtest"
	"tourd/internal/userdata"
)

const benchBody = `{"id":"bench-user-42","attributes":{"name":"User 42","email":"user42@example.com","plan":"pro","seats":42,"last_login":"2026-11-27T10:00:00.000Z"}}`

func BenchmarkDecodeUserUpsert(b *testing.B) {
	body := []byte(benchBody)
	for b.Loop() {
		if _, err := decodeUserUpsert(body); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServer is a Server over a fresh SQLite store with one key and 1,000
// users.
func benchServer(b *testing.B) (*Server, string) {
	store := backendtest.SQLite.Open(b)
	key, hash, prefix := userdata.NewKey()
	if _, err := store.CreateKey(b.Context(), "p", "e", hash, prefix); err != nil {
		b.Fatal(err)
	}
	s := New(store, backendtest.Discard, "")
	for i := range 1000 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/users", strings.NewReader(fmt.Sprintf(`{"id":"user-%d","attributes":{"n":%d}}`, i, i)))
		req.Header.Set("Authorization", "Bearer "+key)
		s.ServeHTTP(rec, req)
		if rec.Code != 201 {
			b.Fatalf("seeding: %d %s", rec.Code, rec.Body)
		}
	}
	return s, key
}

// BenchmarkHandler measures the whole handler, without the network: POST
// (one at a time, so each waits for its own commit and fsync) and GET.
func BenchmarkHandler(b *testing.B) {
	b.Run("POST", func(b *testing.B) {
		s, key := benchServer(b)
		i := 0
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v1/users", strings.NewReader(fmt.Sprintf(
				`{"id":"user-%d","attributes":{"name":"User","email":"u@example.com","plan":"pro","seats":%d,"last_login":"2026-11-27T10:00:%02d.000Z"}}`, i%1000, i, i%60)))
			req.Header.Set("Authorization", "Bearer "+key)
			s.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			i++
		}
	})
	b.Run("GET", func(b *testing.B) {
		s, key := benchServer(b)
		i := 0
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", fmt.Sprintf("/v1/users/user-%d", i%1000), nil)
			req.Header.Set("Authorization", "Bearer "+key)
			s.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			i++
		}
	})
}
