package pipeline

import (
	"encoding/json"

	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

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
