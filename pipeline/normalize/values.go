package normalize

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// vtype is a DataType as a small number, for the hot path.
type vtype uint8

const (
	vText vtype = iota
	vBigint
	vDouble
	vBool
	vTimestamp
	vJSON
	nTypes
)

var typeNames = [nTypes]DataType{Text, Bigint, Double, Bool, Timestamp, JSON}

func typeCode(dt DataType) (vtype, bool) {
	for i, n := range typeNames {
		if n == dt {
			return vtype(i), true
		}
	}
	return 0, false
}

// classify returns the dlt type of an input value and the value in the
// Go type the row uses for it (json values stay map/slice until written).
func classify(v any) (vtype, any, error) {
	switch x := v.(type) {
	case string:
		return vText, v, nil
	case json.Number:
		return classifyNumber(string(x))
	case bool:
		return vBool, v, nil
	case map[string]any, []any:
		return vJSON, v, nil
	case float64:
		return vDouble, v, nil
	case int64:
		return vBigint, v, nil
	case int:
		return vBigint, int64(x), nil
	case int32:
		return vBigint, int64(x), nil
	case float32:
		return vDouble, float64(x), nil
	case time.Time:
		return vTimestamp, x, nil
	}
	return 0, nil, fmt.Errorf("unsupported value type %T", v)
}

// classifyNumber types a JSON number as Python's json module would: an
// integer literal is bigint, anything with a fraction or exponent double.
// An integer too large for int64 is kept exactly, as text (dlt would need
// its optional "wei" type for it).
func classifyNumber(s string) (vtype, any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return vBigint, i, nil
		}
		return vText, s, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) { // 1e999 is inf, as in Python
		return 0, nil, fmt.Errorf("invalid number %q", s)
	}
	return vDouble, f, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// detectType is dlt's type inference for a new column: the value's own type
// unless the iso_timestamp detection turns text into a timestamp.
func detectType(t vtype, v any) vtype {
	if t == vText {
		if s, ok := v.(string); ok && isISOTimestamp(s) {
			return vTimestamp
		}
	}
	return t
}

// coerce converts v (of type from) for a column of type to, with dlt's
// rules (dlt/common/data_types/type_helpers.py, _COERCE_DISPATCH); ok is
// false where dlt would create a variant column.
func coerce(to, from vtype, v any) (any, bool) {
	if to == from {
		switch to {
		case vJSON:
			return encodeJSON(v), true
		case vTimestamp:
			return v.(time.Time).UTC(), true
		}
		return v, true
	}
	switch to {
	case vText:
		return toText(from, v), true
	case vBigint:
		switch from {
		case vText:
			return textToBigint(v.(string))
		case vDouble:
			f := v.(float64)
			if f != math.Trunc(f) || f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
				return nil, false
			}
			return int64(f), true
		}
	case vDouble:
		switch from {
		case vText:
			return textToDouble(v.(string))
		case vBigint:
			return float64(v.(int64)), true
		}
	case vBool:
		switch from {
		case vText:
			return str2bool(v.(string))
		case vBigint:
			return v.(int64) != 0, true
		case vDouble:
			return v.(float64) != 0, true
		}
	case vTimestamp:
		var t time.Time
		var ok bool
		switch from {
		case vText:
			t, ok = textToTimestamp(v.(string))
		case vBigint:
			t, ok = fromUnixInt(v.(int64))
		case vDouble:
			t, ok = fromUnixSeconds(v.(float64))
		}
		if ok {
			return t, true
		}
	case vJSON:
		if from == vText {
			s := v.(string)
			if json.Valid([]byte(s)) {
				return s, true
			}
		}
	}
	return nil, false
}

// toText renders a value as dlt's text fallback does: Python's str() of
// the value (so True, 1.5, 1e+16), isoformat for times, compact JSON.
func toText(from vtype, v any) string {
	switch from {
	case vText:
		return v.(string)
	case vBigint:
		return strconv.FormatInt(v.(int64), 10)
	case vDouble:
		return pyFloatRepr(v.(float64))
	case vBool:
		if v.(bool) {
			return "True"
		}
		return "False"
	case vTimestamp:
		return pyIsoformat(v.(time.Time))
	}
	return encodeJSON(v)
}

func textToBigint(s string) (any, bool) {
	s = strings.TrimFunc(s, pySpace)
	base := 10
	if strings.HasPrefix(s, "0x") {
		s, base = s[2:], 16
	}
	i, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		return nil, false
	}
	return i, true
}

func textToDouble(s string) (any, bool) {
	s = strings.TrimFunc(s, pySpace)
	if strings.HasPrefix(s, "0x") {
		i, err := strconv.ParseInt(s[2:], 16, 64)
		if err != nil {
			return nil, false
		}
		return float64(i), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return nil, false
	}
	return f, true
}

// str2bool is dlt's: exact words only, no trimming.
func str2bool(s string) (any, bool) {
	switch strings.ToLower(s) {
	case "yes", "true", "t", "y", "1":
		return true, true
	case "no", "false", "f", "n", "0":
		return false, true
	}
	return nil, false
}

// pyFloatRepr formats f as Python's repr does: shortest round-trip digits,
// positional notation for exponents -4..15 (always with a fraction part),
// scientific notation otherwise.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// pyIsoformat is Python's datetime.isoformat for an aware datetime.
func pyIsoformat(t time.Time) string {
	b := t.AppendFormat(nil, "2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		b = fmt.Appendf(b, ".%06d", us)
	}
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = fmt.Appendf(b, "%c%02d:%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		b = fmt.Appendf(b, ":%02d", off%60)
	}
	return string(b)
}

// encodeJSON writes a json value compactly with sorted object keys (Go
// maps have no order), as the text stored in a json column.
func encodeJSON(v any) string {
	if s, ok := v.(string); ok { // already JSON text (coerced from text)
		return s
	}
	return string(appendJSON(nil, v))
}

func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return appendJSONString(b, x)
	case json.Number:
		return append(b, x...)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case time.Time:
		return appendJSONString(b, x.Format(time.RFC3339Nano))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	}
	// Rare Go types handed in by callers: let encoding/json decide.
	if raw, err := json.Marshal(v); err == nil {
		return append(b, raw...)
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s, escaping only what JSON requires; invalid
// UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
