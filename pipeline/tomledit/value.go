package tomledit

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Value renders a value as TOML: strings, integers, floats, booleans,
// arrays and inline tables (keys sorted).
func Value(v any) string {
	switch t := v.(type) {
	case string:
		return String(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		switch {
		case math.IsNaN(t):
			return "nan"
		case math.IsInf(t, 1):
			return "inf"
		case math.IsInf(t, -1):
			return "-inf"
		}
		s := strconv.FormatFloat(t, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case bool:
		return strconv.FormatBool(t)
	case []string:
		c := make([]any, len(t))
		for i, s := range t {
			c[i] = s
		}
		return Value(c)
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = Value(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return "{}"
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = Key(k) + " = " + Value(t[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	default:
		// Dates and other exotic values never occur in the keys we write.
		return String(fmt.Sprint(v))
	}
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Key renders one part of a key: bare when it can be, else quoted.
func Key(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return String(k)
}

// String is a TOML basic string: Go's strconv.Quote is not valid TOML
// (it emits \x escapes), so escape by hand.
func String(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// DottedKey renders a dotted key such as resources.builds or "a b".c.
func DottedKey(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = Key(p)
	}
	return strings.Join(out, ".")
}
