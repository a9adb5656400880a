package userdata_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"tourd/internal/userdata"
)

// FuzzCoerce checks Coerce on every type for values made from any text
// (the text as a string; the JSON value it holds, decoded as
// DecodeAttributes and as a json.Number decoder do; the number ParseFloat
// reads, NaN and infinities included; each also as the operand of set,
// set_once and add): it never panics, it refuses only with the mismatch
// error, what it returns has the type and converts to itself again, and a
// conversion between a string and a number or boolean loses nothing.
func FuzzCoerce(f *testing.F) {
	for _, seed := range []string{
		`42`, `"42"`, `-0`, `"-0"`, `1e21`, `"1e+21"`, `1.5e-7`, `"1.50"`, `"042"`, `" 1"`, `"NaN"`, `"Infinity"`,
		`true`, `"true"`, `"True"`, `""`, `"héllo 🌍"`, `[1,[2],{"a":3}]`, `{"a":1}`, `null`, `NaN`, `-Inf`, `0x1p-2`,
		`"2024-01-31T09:30:00Z"`, `"2024-01-31T10:30:00.123456+01:00"`, `"2024-01-31"`, `"0000-01-01T00:00:00+01:00"`,
		`12345678901234567890`, `"\u00e9"`, `1e400`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		values := []any{text}
		if !json.Valid([]byte(text)) {
			// DecodeAttributes takes only valid JSON.
		} else if a, err := userdata.DecodeAttributes([]byte(`{"k":` + text + `}`)); err == nil {
			values = append(values, a["k"])
			dec := json.NewDecoder(strings.NewReader(text))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) == nil {
				values = append(values, v)
			}
		}
		if n, err := strconv.ParseFloat(text, 64); err == nil || math.IsInf(n, 0) {
			values = append(values, n)
		}
		for _, v := range values[:len(values):len(values)] {
			for _, kind := range []userdata.OpKind{userdata.OpSet, userdata.OpSetOnce, userdata.OpAdd} {
				values = append(values, &userdata.Op{Kind: kind, Value: v, Field: "attributes.k"})
			}
		}
		for _, v := range values {
			for dt := userdata.DataType(-1); dt <= 8; dt++ {
				checkCoerce(t, v, dt)
			}
		}
	})
}

var equateNaNs = cmpopts.EquateNaNs()

func checkCoerce(t *testing.T, v any, dt userdata.DataType) {
	t.Helper()
	out, err := userdata.Coerce("attributes.k", v, dt)
	if err != nil {
		checkMismatch(t, "Coerce", err, "attributes.k", dt)
		if msg := message(err); len(msg) > 400 {
			t.Fatalf("Coerce(%#v, %s): a message of %d bytes: %s", v, dt, len(msg), msg)
		}
		return
	}
	again, err := userdata.Coerce("attributes.k", out, dt)
	if err != nil || !cmp.Equal(out, again, equateNaNs) {
		t.Fatalf("Coerce(%#v, %s) = %#v, which converts to %#v, %v", v, dt, out, again, err)
	}
	in := v
	if op, ok := v.(*userdata.Op); ok {
		if op.Kind == userdata.OpAdd {
			if out != v {
				t.Fatalf("Coerce(%v, %s) = %#v, want the add as it is", v, dt, out)
			}
			return
		}
		in, out = op.Value, out.(*userdata.Op).Value
	}
	if in == nil {
		if out != nil {
			t.Fatalf("Coerce(nil, %s) = %#v", dt, out)
		}
		return
	}
	ok := true
	switch dt {
	case userdata.DataTypeString:
		s, isString := out.(string)
		ok = isString
		switch in := in.(type) {
		case float64: // the string reads back as the number
			n, err := strconv.ParseFloat(s, 64)
			ok = ok && err == nil && n == in
		case bool:
			ok = ok && s == strconv.FormatBool(in)
		}
	case userdata.DataTypeNumber:
		switch n := out.(type) {
		case float64: // the string is the number as JavaScript prints it
			s, isString := in.(string)
			back, err := userdata.Coerce("attributes.k", n, userdata.DataTypeString)
			ok = !math.IsNaN(n) && !math.IsInf(n, 0) && (!isString || err == nil && back == s)
		case json.Number:
		default:
			ok = false
		}
	case userdata.DataTypeBoolean:
		b, isBool := out.(bool)
		s, isString := in.(string)
		ok = isBool && (!isString || s == strconv.FormatBool(b))
	case userdata.DataTypeDatetime:
		s, _ := out.(string)
		at, err := time.Parse(time.RFC3339Nano, in.(string))
		ok = userdata.IsDatetime(s) && len(s) == len("2006-01-02T15:04:05.000Z") && err == nil &&
			s == at.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	case userdata.DataTypeList:
		l, isList := out.([]any)
		_, wasList := in.([]any)
		ok = isList && (wasList || len(l) == 1 && cmp.Equal(l[0], in))
	default:
		ok = cmp.Equal(out, in, equateNaNs)
	}
	if !ok {
		t.Fatalf("Coerce(%#v, %s) = %#v", v, dt, out)
	}
	// What a type the API creates holds can be stored.
	if _, err := json.Marshal(out); dt.Creatable() && err != nil {
		t.Fatalf("Coerce(%#v, %s) = %#v, which does not encode: %v", v, dt, out, err)
	}
}
