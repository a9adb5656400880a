package userdata_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"tourd/internal/userdata"
)

// The breaker: ten failures in a row start a minute's cooldown; failures
// during it (attempts under way when it began) count but do not extend
// it; the next failure after it starts one twice as long, up to an hour;
// failing for seven days disables the webhook; a success clears it all.
func TestNoteAttempt(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	wh := &userdata.Webhook{ID: "wh", EnvironmentID: "env", Enabled: true}
	at := t0
	for i := 1; i < userdata.BreakerThreshold; i++ {
		if changed, trip := wh.NoteAttempt(false, at); !changed || trip != nil {
			t.Fatalf("failure %d: changed %v, trip %+v", i, changed, trip)
		}
	}
	if wh.ConsecutiveFailures != 9 || !wh.FailingSince.Equal(t0) || wh.CooldownUntil != nil {
		t.Fatalf("after 9 failures: %+v", wh)
	}
	_, trip := wh.NoteAttempt(false, at)
	until := at.Add(time.Minute)
	if want := (&userdata.BreakerChange{WebhookID: "wh", EnvironmentID: "env", Failures: 10, CooldownUntil: &until}); !cmp.Equal(trip, want) {
		t.Fatalf("the 10th failure: %+v, want %+v", trip, want)
	}
	if _, trip := wh.NoteAttempt(false, at.Add(time.Second)); trip != nil || !wh.CooldownUntil.Equal(until) || wh.ConsecutiveFailures != 11 {
		t.Errorf("a failure during the cooldown: trip %+v, %+v", trip, wh)
	}
	for i, want := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour} {
		at = *wh.CooldownUntil
		_, trip := wh.NoteAttempt(false, at)
		if trip == nil || trip.CooldownUntil.Sub(at) != want {
			t.Errorf("cooldown %d: %+v, want %s", i+2, trip, want)
		}
	}
	_, trip = wh.NoteAttempt(false, t0.Add(userdata.AutoDisableAfter))
	if trip == nil || !trip.Disabled || wh.Enabled || !wh.AutoDisabledAt.Equal(t0.Add(userdata.AutoDisableAfter)) || wh.CooldownUntil != nil {
		t.Errorf("after seven days: trip %+v, %+v", trip, wh)
	}
	if changed, trip := wh.NoteAttempt(true, at); !changed || trip != nil || wh.ConsecutiveFailures != 0 || wh.Cooldowns != 0 ||
		wh.FailingSince != nil || wh.CooldownUntil != nil {
		t.Errorf("a success: changed %v, trip %+v, %+v", changed, trip, wh)
	}
	if changed, _ := wh.NoteAttempt(true, at); changed {
		t.Error("a success on a clear breaker changed it")
	}
	// A streak shorter than the threshold disables nothing, however old.
	short := &userdata.Webhook{Enabled: true}
	short.NoteAttempt(false, t0)
	if _, trip := short.NoteAttempt(false, t0.Add(30*24*time.Hour)); trip != nil || !short.Enabled {
		t.Errorf("two failures a month apart: trip %+v, %+v", trip, short)
	}
}

func TestAttemptLog(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456000, time.UTC)
	want := []*userdata.Attempt{
		{Number: 1, At: at, HTTPStatus: 500, Error: "HTTP 500", Duration: 1234 * time.Microsecond, Response: "é \"down\""},
		{Number: 2, At: at.Add(time.Minute), Error: "no answer within 10s", Duration: 10 * time.Second},
		{Number: 3, At: at.Add(time.Hour), OK: true, HTTPStatus: 204, Duration: time.Millisecond},
	}
	raw := []byte("[")
	for i, a := range want {
		if i > 0 {
			raw = append(raw, ',')
		}
		raw = append(raw, userdata.EncodeAttempt(a)...)
	}
	got, err := userdata.DecodeLog(append(raw, ']'))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the log read back (-want +got):\n%s", diff)
	}
	if _, err := userdata.DecodeLog([]byte("{")); err == nil {
		t.Error("DecodeLog of garbage succeeded")
	}
}
