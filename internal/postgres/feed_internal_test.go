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
		{"9223372036854775807-9223372036854775807", position{1<<63 - 1, 1<<63 - 1}, true},
		{"9223372036854775808-0", position{}, false},
		{"1-01", position{}, false},
		{"01-1", position{}, false},
		{"1-", position{}, false},
		{"-1", position{}, false},
		{"1--1", position{}, false},
		{"-1-1", position{}, false},
		{"1-2-3", position{}, false},
		{"+1-2", position{}, false},
		{"1 -2", position{}, false},
		{"12", position{}, false},
		{"", position{}, false},
		{"now", position{}, false},
	} {
		got, ok := parsePosition(tt.cursor)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parsePosition(%q) = %v, %t; want %v, %t", tt.cursor, got, ok, tt.want, tt.ok)
		}
	}
}

// TestWatermarks checks that a mark settles once the horizon reaches its
// xid, and not before; that the watermark never goes back; that it takes
// the one another store published; and that the pending marks stay
// bounded.
func TestWatermarks(t *testing.T) {
	var w watermarks
	check := func(horizon uint64, m mark, ok bool, want int64) {
		t.Helper()
		if got := w.update(horizon, m, ok, 0); got != want {
			t.Errorf("update(%d, %v, %t) = %d, want %d", horizon, m, ok, got, want)
		}
	}
	check(10, mark{5, 12}, true, 0)
	check(11, mark{8, 15}, true, 0)  // 5 waits for 12
	check(12, mark{8, 16}, true, 5)  // the second mark of 8 is not kept: the first settles first
	check(14, mark{9, 17}, false, 5) // not kept
	check(15, mark{3, 18}, true, 8)  // 3 is behind
	check(100, mark{}, false, 8)
	if len(w.pending) != 0 {
		t.Errorf("pending %v after all settled", w.pending)
	}
	for i := range 2 * maxPendingMarks {
		w.update(100, mark{int64(10 + i), uint64(200 + i)}, true, 0)
	}
	if len(w.pending) != maxPendingMarks {
		t.Errorf("%d marks pending, want at most %d", len(w.pending), maxPendingMarks)
	}
	check(1000, mark{}, false, 10+2*maxPendingMarks-1)
	if got := w.update(0, mark{}, false, 500); got != 500 {
		t.Errorf("with 500 shared, the watermark is %d", got)
	}
}
