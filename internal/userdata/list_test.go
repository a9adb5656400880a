package userdata_test

import (
	"strings"
	"testing"
	"time"

	"tourd/internal/userdata"
)

func TestParseCreatedBound(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, tt := range []struct {
		value  string
		before bool
		want   string // RFC 3339 in UTC; "" for an error
		msg    string // part of the error's message
	}{
		{"2024-03-20", false, "2024-03-20T00:00:00Z", ""},
		{"2024-03-20", true, "2024-03-20T23:59:59.999999Z", ""},
		{"2024-12-31", true, "2024-12-31T23:59:59.999999Z", ""},
		{"2024-02-29", true, "2024-02-29T23:59:59.999999Z", ""},
		{"2024-03-20T08:30:00Z", false, "2024-03-20T08:30:00Z", ""},
		{"2024-03-20T08:30:00Z", true, "2024-03-20T08:30:00Z", ""},
		{"2024-03-20T08:30:00.123Z", true, "2024-03-20T08:30:00.123Z", ""},
		{"2024-03-20T08:30:00+02:00", false, "2024-03-20T06:30:00Z", ""},
		{"2024-03-20T01:30:00-05:30", true, "2024-03-20T07:00:00Z", ""},
		// Inwards to the microsecond: an after bound up, a before bound down.
		{"2024-03-20T08:30:00.0000001Z", false, "2024-03-20T08:30:00.000001Z", ""},
		{"2024-03-20T08:30:00.0000019Z", true, "2024-03-20T08:30:00.000001Z", ""},
		{"2024-03-20T08:30:00.000001Z", false, "2024-03-20T08:30:00.000001Z", ""},
		{"2024-03-20T08:30:00", false, "", "time zone"},
		{"2024-03-20T08:30:00.5", true, "", "time zone"},
		{"2024-03-20 08:30:00Z", false, "", "createdAfter must be a date"},
		{"2024-03-20T08:30Z", true, "", "createdBefore must be a date"},
		{"2024-03-20T08:30:00+0200", false, "", "must be a date"},
		{"2024-02-30", false, "", "must be a date"},
		{"2024-3-20", false, "", "must be a date"},
		{"20240320", false, "", "must be a date"},
		{" 2024-03-20", false, "", "must be a date"},
		{"yesterday", true, "", "must be a date"},
		{"", false, "", "must be a date"},
		{"1710923400", false, "", "must be a date"},
	} {
		got, err := userdata.ParseCreatedBound(tt.value, tt.before)
		if tt.want == "" {
			if userdata.ErrorCode(err) != userdata.CodeInvalid || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParseCreatedBound(%q, %t) = %v, %v; want a CodeInvalid error saying %q", tt.value, tt.before, got, err, tt.msg)
			}
			continue
		}
		if want := at(tt.want); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseCreatedBound(%q, %t) = %v, %v; want %v", tt.value, tt.before, got, err, want)
		}
	}
}
