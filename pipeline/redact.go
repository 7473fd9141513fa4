package pipeline

import (
	"encoding/json"

	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// redactRecord removes the key from every string of a decoded record, keys
// of objects included, in place. The API may echo the key back in any
// field; decoded, its escaped spellings are plain, but a field may hold JSON
// text of its own.
func redactRecord(red *secrets.Redactor, rec map[string]any) {
	for k, v := range rec {
		if x, ok := v.(string); ok {
			if clean := red.Redact(x); clean != x {
				rec[k] = clean
			}
		} else {
			redactNested(red, v)
		}
		if clean := red.Redact(k); clean != k {
			rec[clean] = rec[k]
			delete(rec, k)
		}
	}
}

// redactNested is redactRecord for a value inside a record.
func redactNested(red *secrets.Redactor, v any) {
	switch x := v.(type) {
	case map[string]any:
		redactRecord(red, x)
	case []any:
		for i, item := range x {
			if s, ok := item.(string); ok {
				x[i] = red.Redact(s)
			} else {
				redactNested(red, item)
			}
		}
	}
}

// redactTrace is t with the key removed from every text in it (error
// messages quote what servers said), in any spelling.
func redactTrace(t *trace.Trace, red *secrets.Redactor) *trace.Trace {
	b, err := json.Marshal(t)
	if err != nil {
		return t
	}
	clean := red.RedactBytes(b)
	if &clean[0] == &b[0] {
		return t
	}
	var out trace.Trace
	if err := json.Unmarshal(clean, &out); err != nil {
		return t
	}
	return &out
}
