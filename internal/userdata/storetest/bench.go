package storetest

import (
	"fmt"
	"testing"

	"tourd/internal/userdata"
)

// Bench runs the store benchmarks: the hot paths of POST and GET
// /v1/users, with 1,000 existing users.
func Bench(b *testing.B, open Opener) {
	const users = 1000
	setup := func(b *testing.B) (userdata.Store, userdata.Tenant) {
		s := open(b)
		tn := Tenant(b, s, "p", "e")
		for i := range users {
			if _, _, err := s.UpsertUser(b.Context(), tn, benchUpsert(i, 0)); err != nil {
				b.Fatal(err)
			}
		}
		return s, tn
	}
	b.Run("UpsertUser", func(b *testing.B) {
		s, tn := setup(b)
		i := 0
		for b.Loop() {
			if _, _, err := s.UpsertUser(b.Context(), tn, benchUpsert(i%users, i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("UpsertUserParallel", func(b *testing.B) {
		s, tn := setup(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, _, err := s.UpsertUser(b.Context(), tn, benchUpsert(i%users, i)); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
	b.Run("GetUser", func(b *testing.B) {
		s, tn := setup(b)
		i := 0
		for b.Loop() {
			if _, err := s.GetUser(b.Context(), tn, fmt.Sprintf("user-%d", i%users), 0); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Authenticate", func(b *testing.B) {
		s := open(b)
		_, hash, prefix := userdata.NewKey()
		if _, err := s.CreateKey(b.Context(), "p", "e", hash, prefix); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Authenticate(b.Context(), hash); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchUpsert is a sign-in upsert: five attributes, one of them new each
// time.
func benchUpsert(user, n int) *userdata.UserUpsert {
	return &userdata.UserUpsert{ExternalID: fmt.Sprintf("user-%d", user), Attributes: userdata.Attributes{
		"name": fmt.Sprintf("User %d", user), "email": fmt.Sprintf("user%d@example.com", user),
		"plan": "pro", "seats": float64(user % 50), "last_login": fmt.Sprintf("2026-11-27T10:%02d:%02d.000Z", n/60%60, n%60),
	}}
}
