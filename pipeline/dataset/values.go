package dataset

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// converter turns driver values into values encoding/json writes as
// compact, lossless-enough JSON, cutting long strings.
type converter struct {
	maxStringLen int
	summarize    bool // replace long JSON/YAML documents by a summary
	cut          bool // a string was cut
	summarized   bool // a document was summarised
}

// cell converts one top-level value, summarising a long document when asked.
func (c *converter) cell(v any, typ string) any {
	if c.summarize {
		if s, ok := c.summary(v, typ); ok {
			c.summarized = true
			return s
		}
	}
	return c.value(v, typ)
}

// summary describes a long document in a few words: text holding JSON or
// YAML, or a nested list, struct or map.
func (c *converter) summary(v any, typ string) (string, bool) {
	switch x := v.(type) {
	case string:
		if len(x) < DocumentSummaryLen {
			return "", false
		}
		t := strings.TrimSpace(x)
		if (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)) {
			var doc any
			json.Unmarshal([]byte(t), &doc)
			return jsonSummary(doc, len(x)), true
		}
		if typ != "JSON" && looksLikeYAML(t) {
			return fmt.Sprintf("[yaml: %d lines, %d chars]", strings.Count(t, "\n")+1, utf8.RuneCountInString(x)), true
		}
	case []any, map[string]any, duckdb.OrderedMap:
		b, err := json.Marshal(c.value(v, typ))
		if err != nil || len(b) < DocumentSummaryLen {
			return "", false
		}
		var doc any
		json.Unmarshal(b, &doc)
		return jsonSummary(doc, len(b)), true
	}
	return "", false
}

func jsonSummary(doc any, size int) string {
	switch d := doc.(type) {
	case map[string]any:
		return fmt.Sprintf("[json object: %d keys, %d chars]", len(d), size)
	case []any:
		return fmt.Sprintf("[json array: %d items, %d chars]", len(d), size)
	}
	return fmt.Sprintf("[json: %d chars]", size)
}

// yamlLine is a mapping key ("name:", "on-push: x") or a list item ("- x").
var yamlLine = regexp.MustCompile(`^\s*(- |-$|[\w"'./-]+:(\s|$))`)

// looksLikeYAML: several lines, most of them keys or list items. Prose
// (a commit message) rarely passes; a pipeline spec always does.
func looksLikeYAML(s string) bool {
	lines := strings.Split(s, "\n")
	if len(lines) < 3 {
		return false
	}
	n, keyed := 0, 0
	for _, l := range lines {
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		n++
		if yamlLine.MatchString(l) {
			keyed++
		}
	}
	return n >= 3 && keyed*4 >= n*3
}

// value converts v, a value of a column of DuckDB type typ ("" inside
// nested values, where the type is not known).
func (c *converter) value(v any, typ string) any {
	switch x := v.(type) {
	case nil, bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		return x
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	case string:
		return c.str(x)
	case []byte:
		if typ == "UUID" && len(x) == 16 {
			return uuidString(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		switch typ {
		case "DATE":
			return x.Format(time.DateOnly)
		case "TIME":
			return x.Format("15:04:05.999999")
		case "TIMETZ":
			return x.Format("15:04:05.999999Z07:00")
		}
		return x.UTC().Format(time.RFC3339Nano)
	case duckdb.Decimal:
		return x.String()
	case *big.Int:
		if x == nil {
			return nil
		}
		return x.String()
	case duckdb.Interval:
		return map[string]any{"months": x.Months, "days": x.Days, "micros": x.Micros}
	case duckdb.UUID:
		return uuidString(x[:])
	case duckdb.Union:
		return map[string]any{"tag": x.Tag, "value": c.value(x.Value, "")}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.value(e, "")
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = c.value(e, "")
		}
		return out
	case duckdb.OrderedMap:
		return c.mapValue(x)
	case fmt.Stringer:
		return c.str(x.String())
	default:
		return c.str(fmt.Sprint(x))
	}
}

// mapValue writes a MAP as an object when its keys are strings, else as a
// list of {key, value} pairs in map order (JSON objects need string keys).
func (c *converter) mapValue(m duckdb.OrderedMap) any {
	keys, vals := m.Keys(), m.Values()
	obj := make(map[string]any, len(keys))
	for i, k := range keys {
		ks, ok := k.(string)
		if !ok {
			obj = nil
			break
		}
		obj[ks] = c.value(vals[i], "")
	}
	if obj != nil {
		return obj
	}
	pairs := make([]any, len(keys))
	for i, k := range keys {
		pairs[i] = map[string]any{"key": c.value(k, ""), "value": c.value(vals[i], "")}
	}
	return pairs
}

// str cuts s to maxStringLen characters and says how much was cut.
func (c *converter) str(s string) string {
	if len(s) <= c.maxStringLen || utf8.RuneCountInString(s) <= c.maxStringLen {
		return s
	}
	n, i := 0, 0
	for i = range s {
		if n == c.maxStringLen {
			break
		}
		n++
	}
	c.cut = true
	return s[:i] + fmt.Sprintf("…[cut: %d more characters]", utf8.RuneCountInString(s[i:]))
}

// floatValue keeps finite floats as numbers; JSON has no NaN or infinity.
func floatValue(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func uuidString(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
