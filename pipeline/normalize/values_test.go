package normalize

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// Cases from dlt's tests/common/schema/test_detections.py
// (test_iso_timestamp_detection) plus the formats pendulum accepts.
func TestISOTimestampDetection(t *testing.T) {
	yes := []string{
		"1975-05-21T22:00:00Z",
		"2022-06-01T00:48:35.040Z",
		"2021-07-24 10:51",
		"2021-05-17T21:31:35.779Z",
		"2024-05-06T07:00:10.123+02:00",
		"2024-05-06T07:00:10.123456789-0530",
		"2024-05-06T07:00:10+02",
		"2024-05-06T07:00:10",    // naive: UTC
		"2024-05-06T07",          // hour only
		"20240506T070010Z",       // basic format
		"20240506T07:00",         // pendulum lets basic date + hh:mm through
		"2024-05T10:00",          // year-month, day 1
		"2024-05-06T24:00:00Z",   // end of day
		"2024/01/15 10:30",       // pendulum's common format
		"2024011510:30:00.5",     // common format without separators
		"2024-05-06 07:00:10,25", // comma fraction
	}
	no := []string{
		"1975-05-21",
		"22:00:00",
		"0-05-01T27:00:00Z",
		"",
		"1975-05-01T27:00:00Z",
		"1975-0521T22 00:00",
		"1975-0521T22:00:00Z", // extended/basic mix
		"Wed, 29 Jun 2022 13:56:34 +0000",
		"2024-02-30T10:00:00Z",
		"2024-05-06T10:00:00Zjunk",
		"2024-05-06t10:00:00",
		"2024-05-06T10:00:60",
		"20240506T07:00:10", // basic date + extended time with seconds
		"2024-05-06T0700",   // extended date + basic time
		"2024-W05-2T10:00",  // week dates are not recognized here
		"2024-05-06T24:30:00",
		"0000-01-01T00:00:00",
		"hello",
		"12345",
	}
	for _, s := range yes {
		if !isISOTimestamp(s) {
			t.Errorf("%q should be a timestamp", s)
		}
	}
	for _, s := range no {
		if isISOTimestamp(s) {
			t.Errorf("%q should not be a timestamp", s)
		}
	}
}

func TestParsedTimesAreUTC(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2021-05-17T21:31:35.779Z", "2021-05-17T21:31:35.779Z"},
		{"2021-05-17T23:31:35+02:00", "2021-05-17T21:31:35Z"},
		{"2021-05-17T16:01:35-0530", "2021-05-17T21:31:35Z"},
		{"2021-05-17 21:31", "2021-05-17T21:31:00Z"},
		{"2021-05-17T21:31:35.1234567Z", "2021-05-17T21:31:35.123456Z"}, // microseconds, like Python
		{"2021-05-17T24:00:00", "2021-05-18T00:00:00Z"},
		{"2021-12-31T23:30:00-01:00", "2022-01-01T00:30:00Z"},
	}
	for _, c := range cases {
		got, k := parseISOLike(c.in)
		if k != parsedDateTime || got.Format(time.RFC3339Nano) != c.want || got.Location() != time.UTC {
			t.Errorf("parse %q = %v (%d), want %s", c.in, got, k, c.want)
		}
	}
}

func TestTextToTimestamp(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2021-05-17", "2021-05-17T00:00:00Z", true}, // a date is midnight
		{"2021", "2021-01-01T00:00:00Z", true},
		{"1700000000", "2023-11-14T22:13:20Z", true}, // seconds since epoch
		{" 1700000000.5 ", "2023-11-14T22:13:20.5Z", true},
		{"2021-05-17T21:31:35Z", "2021-05-17T21:31:35Z", true},
		{"22:00:00", "", false},
		{"soon", "", false},
	}
	for _, c := range cases {
		got, ok := textToTimestamp(c.in)
		if ok != c.ok || (ok && got.Format(time.RFC3339Nano) != c.want) {
			t.Errorf("textToTimestamp(%q) = %v, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   any
		typ  vtype
		want any
	}{
		{json.Number("5"), vBigint, int64(5)},
		{json.Number("-0"), vBigint, int64(0)},
		{json.Number("5.0"), vDouble, 5.0},
		{json.Number("1e3"), vDouble, 1000.0},
		{json.Number("1E-2"), vDouble, 0.01},
		{json.Number("9223372036854775807"), vBigint, int64(math.MaxInt64)},
		{json.Number("9223372036854775808"), vText, "9223372036854775808"}, // kept exactly
		{json.Number("1e999"), vDouble, math.Inf(1)},
		{"x", vText, "x"},
		{true, vBool, true},
		{1.5, vDouble, 1.5},
		{7, vBigint, int64(7)},
		{int64(7), vBigint, int64(7)},
		{ts, vTimestamp, ts},
	}
	for _, c := range cases {
		typ, got, err := classify(c.in)
		if err != nil || typ != c.typ || got != c.want {
			t.Errorf("classify(%#v) = %v %#v %v; want %v %#v", c.in, typ, got, err, c.typ, c.want)
		}
	}
	if _, _, err := classify(struct{}{}); err == nil {
		t.Error("a struct must be refused")
	}
	if typ, _, _ := classify(map[string]any{}); typ != vJSON {
		t.Error("an object is json")
	}
}

// dlt's coercion rules (type_helpers._COERCE_DISPATCH).
func TestCoerce(t *testing.T) {
	ts := time.Date(2021, 5, 17, 21, 31, 35, 779000000, time.UTC)
	cases := []struct {
		name     string
		to, from vtype
		in       any
		want     any
		ok       bool
	}{
		{"bigint widens to double", vDouble, vBigint, int64(2), 2.0, true},
		{"whole double into bigint", vBigint, vDouble, 3.0, int64(3), true},
		{"fractional double not into bigint", vBigint, vDouble, 3.5, nil, false},
		{"huge double not into bigint", vBigint, vDouble, 1e19, nil, false},
		{"bigint to text", vText, vBigint, int64(42), "42", true},
		{"double to text is Python repr", vText, vDouble, 1.5, "1.5", true},
		{"whole double to text", vText, vDouble, 100.0, "100.0", true},
		{"big double to text", vText, vDouble, 1e16, "1e+16", true},
		{"bool to text is Python str", vText, vBool, true, "True", true},
		{"timestamp to text is isoformat", vText, vTimestamp, ts, "2021-05-17T21:31:35.779000+00:00", true},
		{"json to text", vText, vJSON, map[string]any{"b": json.Number("1"), "a": "x"}, `{"a":"x","b":1}`, true},
		{"text to bigint", vBigint, vText, " 17 ", int64(17), true},
		{"hex text to bigint", vBigint, vText, "0x1f", int64(31), true},
		{"bad text to bigint", vBigint, vText, "1.5", nil, false},
		{"text to double", vDouble, vText, "2.5", 2.5, true},
		{"bad text to double", vDouble, vText, "abc", nil, false},
		{"text to bool", vBool, vText, "Yes", true, true},
		{"text f to bool", vBool, vText, "f", false, true},
		{"odd text to bool", vBool, vText, "maybe", nil, false},
		{"bigint to bool", vBool, vBigint, int64(5), true, true},
		{"zero double to bool", vBool, vDouble, 0.0, false, true},
		{"text to timestamp", vTimestamp, vText, "2021-05-17T21:31:35.779Z", ts, true},
		{"bigint to timestamp", vTimestamp, vBigint, int64(1621287095), ts.Truncate(time.Second), true},
		{"bad text to timestamp", vTimestamp, vText, "later", nil, false},
		{"json text into json", vJSON, vText, `{"a": 1}`, `{"a": 1}`, true},
		{"plain text not into json", vJSON, vText, "abc", nil, false},
		{"bool not into bigint", vBigint, vBool, true, nil, false},
		{"bigint not into json", vJSON, vBigint, int64(1), nil, false},
		{"timestamp not into bigint", vBigint, vTimestamp, ts, nil, false},
		{"json not into bigint", vBigint, vJSON, []any{}, nil, false},
	}
	for _, c := range cases {
		got, ok := coerce(c.to, c.from, c.in)
		if ok != c.ok {
			t.Errorf("%s: ok = %v", c.name, ok)
			continue
		}
		if want, isTime := c.want.(time.Time); isTime {
			if g, _ := got.(time.Time); !g.Equal(want) {
				t.Errorf("%s: got %v, want %v", c.name, got, want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	cases := map[float64]string{
		1.5: "1.5", 100: "100.0", 1e15: "1000000000000000.0", 1e16: "1e+16",
		0.0001: "0.0001", 0.00001: "1e-05", -2.25: "-2.25", 1.5e300: "1.5e+300",
	}
	a, b := 0.1, 0.2
	cases[a+b] = "0.30000000000000004"
	for f, want := range cases {
		if got := pyFloatRepr(f); got != want {
			t.Errorf("pyFloatRepr(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestEncodeJSON(t *testing.T) {
	v := map[string]any{
		"z": []any{json.Number("1.50"), nil, true, "a\"b\\c\n\x01<>&é"},
		"a": map[string]any{"y": 1.5, "x": int64(2)},
	}
	want := `{"a":{"x":2,"y":1.5},"z":[1.50,null,true,"a\"b\\c\n\u0001<>&é"]}`
	got := encodeJSON(v)
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("not valid JSON")
	}
	if got := encodeJSON([]any{"\xff"}); got != `["`+"\ufffd"+`"]` {
		t.Errorf("invalid UTF-8: %q", got)
	}
}
