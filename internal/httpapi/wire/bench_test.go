package wire_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"tourd/internal/httpapi/wire"
	"tourd/internal/userdata"
)

func BenchmarkEncodeUser(b *testing.B) {
	u := &userdata.User{ID: userdata.NewID(), ExternalID: "bench-user-42", CreatedAt: time.Now(),
		Attributes: []byte(`{"email":"user42@example.com","first_seen_at":"2026-11-27T10:00:00.000Z","last_login":"2026-11-27T10:00:00.000Z","last_seen_at":"2026-11-27T10:00:00.000Z","name":"User 42","plan":"pro","seats":42}`)}
	for b.Loop() {
		w := httptest.NewRecorder()
		ju := wire.NewUser(u)
		wire.WriteJSON(w, http.StatusOK, &ju)
	}
}
