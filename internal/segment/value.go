package segment

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// MaxDays bounds the day count of a relative date (less_than, more_than,
// exactly), about 10,000 years either way.
const MaxDays = 3650000

// parseNumber reads the operand of a number condition: a decimal number
// as JSON writes one (leading zeros allowed), which must be finite as a
// double. "1e3" and "-2.5" are numbers; " 5", "+5", ".5", "0x10", "NaN"
// and "1e400" are not.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i = digits(s, i); i < 0 {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		if i = digits(s, i+1); i < 0 {
			return 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i = digits(s, i); i < 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// digits returns the index past the digits of s from i, or -1 if there
// are none.
func digits(s string, i int) int {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// parseDays reads the operand of a relative date: a whole number of days,
// optionally negative, at most MaxDays either way.
func parseDays(s string) (int64, bool) {
	i := 0
	if strings.HasPrefix(s, "-") {
		i = 1
	}
	if digits(s, i) != len(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= -MaxDays && n <= MaxDays
}

// formatNumber returns f as a decimal that reads back as f, for
// PostgreSQL's numeric.
func formatNumber(f float64) string { return strconv.FormatFloat(f+0, 'g', -1, 64) }

// instant is a point in time exactly as a datetime string names it: the
// whole seconds since the Unix epoch (rounded down) and the digits of the
// fraction of a second, trailing zeros removed, so that comparing fractions
// as strings compares them as numbers. Datetime strings may carry more
// digits than time.Time holds.
type instant struct {
	sec  int64
	frac string
}

func (a instant) cmp(b instant) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	}
	return strings.Compare(a.frac, b.frac)
}

// instantOf returns the instant of t.
func instantOf(t time.Time) instant {
	frac := strconv.Itoa(t.Nanosecond() + 1e9)[1:] // nine digits
	return instant{t.Unix(), strings.TrimRight(frac, "0")}
}

// addDays returns a moved by n days of 24 hours.
func (a instant) addDays(n int64) instant { return instant{a.sec + n*secondsPerDay, a.frac} }

// day returns the start of a's UTC calendar day.
func (a instant) day() instant {
	d := a.sec / secondsPerDay
	if a.sec%secondsPerDay < 0 {
		d--
	}
	return instant{d * secondsPerDay, ""}
}

const secondsPerDay = 86400

// parseInstant reads a datetime value (segments.md §3.1: "a string that
// parses as an ISO-8601 instant, any offset"), as the compilers do too: an
// RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS naming a real calendar date and
// time (hours 00-23, seconds 00-59), then optionally a fraction of a
// second of any number of digits, then Z or an offset ±HH:MM (hours
// 00-23, minutes 00-59), upper case T and Z, nothing around it. It is the
// form userdata's v2 coercion reads, without its bound on the UTC year.
func parseInstant(s string) (instant, bool) {
	sec, ok := parseLocal(s)
	if !ok {
		return instant{}, false
	}
	tail := s[19:]
	var frac string
	switch n := len(tail); {
	case strings.HasSuffix(tail, "Z"):
		frac = tail[:n-1]
	case n >= 6 && (tail[n-6] == '+' || tail[n-6] == '-') && digits(tail, n-5) == n-3 && tail[n-3] == ':' && digits(tail, n-2) == n &&
		tail[n-5:n-3] <= "23" && tail[n-2:] <= "59":
		off := int64(atoi(tail[n-5:n-3])*3600 + atoi(tail[n-2:])*60)
		if tail[n-6] == '+' {
			off = -off
		}
		sec += off
		frac = tail[:n-6]
	default:
		return instant{}, false
	}
	if frac != "" {
		if frac[0] != '.' || digits(frac, 1) != len(frac) {
			return instant{}, false
		}
		frac = strings.TrimRight(frac[1:], "0")
	}
	return instant{sec, frac}, true
}

// parseLocal reads the YYYY-MM-DDTHH:MM:SS that s begins with, a real
// calendar date and time, as seconds since the epoch in UTC.
func parseLocal(s string) (int64, bool) {
	const layout = "0000-00-00T00:00:00"
	if len(s) < len(layout) {
		return 0, false
	}
	for i := 0; i < len(layout); i++ {
		if c, l := s[i], layout[i]; l == '0' && (c < '0' || c > '9') || l != '0' && c != l {
			return 0, false
		}
	}
	y, mo, d := atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10])
	h, mi, se := atoi(s[11:13]), atoi(s[14:16]), atoi(s[17:19])
	if mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if d < 1 || t.Day() != d || int(t.Month()) != mo {
		return 0, false
	}
	return t.Unix(), true
}

// atoi reads digits known to be digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// parseDate reads the operand of before, on and after: a date,
// YYYY-MM-DD, standing for its midnight UTC, or a datetime as
// parseInstant reads one.
func parseDate(s string) (instant, bool) {
	if len(s) == len("2006-01-02") {
		sec, ok := parseLocal(s + "T00:00:00")
		return instant{sec, ""}, ok
	}
	return parseInstant(s)
}

// decimal returns a as a decimal number of seconds since the epoch, for
// PostgreSQL's numeric.
func (a instant) decimal() string {
	if a.frac == "" {
		return strconv.FormatInt(a.sec, 10)
	}
	f, _ := new(big.Int).SetString(a.frac, 10)
	r := new(big.Rat).SetFrac(f, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(a.frac))), nil))
	r.Add(r, new(big.Rat).SetInt64(a.sec))
	return r.FloatString(len(a.frac))
}

// keyShift makes the seconds of every instant a condition can name
// positive in a key, and keyMax bounds them (13 digits).
const (
	keyShift = 1_000_000_000_000
	keyMax   = 9_999_999_999_999
)

// key returns a as a string that sorts as the instants do (SQLite's
// general datetime comparison): the shifted seconds in 13 digits, a dot,
// the fraction's digits. Instants beyond what a key holds, which no value
// names, take the nearest key.
func (a instant) key() string {
	s := min(max(a.sec+keyShift, 0), keyMax)
	if s != a.sec+keyShift {
		return strconv.FormatInt(s+1e13, 10)[1:] + "."
	}
	return strconv.FormatInt(s+1e13, 10)[1:] + "." + a.frac
}

// canonical returns a in the stored form of datetimes,
// 2006-01-02T15:04:05.000Z, truncated to the millisecond, and whether
// digits were cut (SQLite's fast comparison of values in that form). An
// instant before year 0000 is "", after 9999 "A": below and above every
// value in the stored form.
func (a instant) canonical() (string, bool) {
	t := time.Unix(a.sec, 0).UTC()
	switch {
	case t.Year() < 0:
		return "", false
	case t.Year() > 9999:
		return "A", false
	}
	ms := (a.frac + "000")[:3]
	return t.Format("2006-01-02T15:04:05") + "." + ms + "Z", len(a.frac) > 3
}
