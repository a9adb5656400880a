package postgres

import "testing"

// TestParsePosition checks that a cursor of the feed is read only when
// written as position.String writes it.
func TestParsePosition(t *testing.T) {
	for _, tt := range []struct {
		cursor string
		want   position
		ok     bool
	}{
		{"0-0", position{0, 0}, true},
		{"745-12", position{745, 12}, true},
		{"18446744073709551615-9223372036854775807", position{1<<64 - 1, 1<<63 - 1}, true},
		{"18446744073709551616-0", position{}, false},
		{"1-01", position{}, false},
		{"01-1", position{}, false},
		{"1-", position{}, false},
		{"-1", position{}, false},
		{"1--1", position{}, false},
		{"1-2-3", position{}, false},
		{"+1-2", position{}, false},
		{"1 -2", position{}, false},
		{"12", position{}, false},
		{"", position{}, false},
	} {
		got, ok := parsePosition(tt.cursor)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parsePosition(%q) = %v, %t; want %v, %t", tt.cursor, got, ok, tt.want, tt.ok)
		}
	}
}
