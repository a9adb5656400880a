package segment

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestParseInstant(t *testing.T) {
	for _, tt := range []struct {
		s    string
		ok   bool
		sec  int64
		frac string
	}{
		{"2024-01-31T09:30:00Z", true, 1706693400, ""},
		{"2024-01-31T09:30:00.000Z", true, 1706693400, ""},
		{"2024-01-31T10:30:00.50+01:00", true, 1706693400, "5"},
		{"2024-01-31T04:00:00.123456789123-05:30", true, 1706693400, "123456789123"},
		{"2024-01-31T09:30:00-00:00", true, 1706693400, ""},
		{"0000-01-01T00:00:00+01:00", true, -62167219200 - 3600, ""}, // year -1 in UTC
		{"9999-12-31T23:59:59-23:59", true, 253402300799 + 86340, ""},
		{"2024-02-29T00:00:00Z", true, 1709164800, ""},
		{"2023-02-29T00:00:00Z", false, 0, ""},
		{"1900-02-29T00:00:00Z", false, 0, ""},
		{"2024-01-31T24:00:00Z", false, 0, ""},
		{"2024-01-31T23:60:00Z", false, 0, ""},
		{"2024-01-31T23:59:60Z", false, 0, ""},
		{"2024-01-31T09:30:00", false, 0, ""},
		{"2024-01-31T09:30:00z", false, 0, ""},
		{"2024-01-31t09:30:00Z", false, 0, ""},
		{"2024-01-31T09:30:00.Z", false, 0, ""},
		{"2024-01-31T09:30:00+24:00", false, 0, ""},
		{"2024-01-31T09:30:00+01:60", false, 0, ""},
		{"2024-01-31T09:30:00+0100", false, 0, ""},
		{"2024-01-31T09:30:00+01:00Z", false, 0, ""},
		{"2024-01-31T09:30:00ZZ", false, 0, ""},
		{"2024-01-31 09:30:00Z", false, 0, ""},
		{" 2024-01-31T09:30:00Z", false, 0, ""},
		{"2024-01-31T09:30:00\x00Z", false, 0, ""},
		{"2024-01-31", false, 0, ""},
	} {
		a, ok := parseInstant(tt.s)
		if ok != tt.ok || ok && (a.sec != tt.sec || a.frac != tt.frac) {
			t.Errorf("parseInstant(%q) = %+v, %v; want {%d %s}, %v", tt.s, a, ok, tt.sec, tt.frac, tt.ok)
		}
	}
	if a, ok := parseDate("2024-01-31"); !ok || a.sec != 1706659200 {
		t.Errorf("parseDate(2024-01-31) = %+v, %v", a, ok)
	}
}

// TestInstantForms checks that the forms of an instant the compilers
// compare (key, decimal, canonical) order as instants do.
func TestInstantForms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() instant {
		a := instant{sec: r.Int64N(700_000_000_000) - 350_000_000_000}
		if r.IntN(2) == 0 {
			a.sec = r.Int64N(3) - 1 + 1_773_000_000
		}
		if r.IntN(3) > 0 {
			a.frac = strings.TrimRight(strings.Repeat("0", r.IntN(3))+string(rune('0'+r.IntN(10)))+string(rune('0'+r.IntN(10))), "0")
		}
		return a
	}
	for range 10000 {
		a, b := random(), random()
		want := a.cmp(b)
		if got := strings.Compare(a.key(), b.key()); got != want {
			t.Fatalf("key(%+v) = %s, key(%+v) = %s: compare %d, want %d", a, a.key(), b, b.key(), got, want)
		}
		da, db := a.decimal(), b.decimal()
		if got := cmpDecimal(da, db); got != want {
			t.Fatalf("decimal(%+v) = %s, decimal(%+v) = %s: compare %d, want %d", a, da, b, db, got, want)
		}
		ca, cutA := a.canonical()
		cb, _ := b.canonical()
		if c := strings.Compare(ca, cb); c > 0 && want < 0 || c < 0 && want > 0 {
			t.Fatalf("canonical(%+v) = %s, canonical(%+v) = %s: compare %d, want %d", a, ca, b, cb, c, want)
		}
		if ty := time.Unix(a.sec, 0).UTC().Year(); ty >= 0 && ty <= 9999 {
			back, ok := parseInstant(ca)
			if !ok || back.sec != a.sec || !strings.HasPrefix(a.frac, back.frac) || cutA != (len(a.frac) > 3) {
				t.Fatalf("canonical(%+v) = %s, %v: reads back as %+v", a, ca, cutA, back)
			}
		}
	}
	if got := (instant{-5, "25"}).decimal(); got != "-4.75" {
		t.Errorf("decimal of -5 s + 0.25 s = %s, want -4.75", got)
	}
}

// cmpDecimal compares two decimals by big.Rat.
func cmpDecimal(a, b string) int {
	ra, _ := new(big.Rat).SetString(a)
	rb, _ := new(big.Rat).SetString(b)
	return ra.Cmp(rb)
}

func TestParseNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "5": true, "007": true, "5.5": true, "1e21": true, "1E+21": true, "1e-7": true, "-2.5e-3": true,
		"": false, "-": false, "+5": false, ".5": false, "5.": false, " 5": false, "5 ": false, "0x10": false, "NaN": false,
		"Infinity": false, "1e400": false, "1_000": false, "1e": false,
	} {
		if _, ok := parseNumber(s); ok != want {
			t.Errorf("parseNumber(%q) ok = %v, want %v", s, ok, want)
		}
	}
}
