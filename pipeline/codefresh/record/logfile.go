package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A log file is kept in a record as a load would read it, minus the
// secrets a load masks in its lines anyway: a record is meant to be
// attached to a bug report, and a build log prints whatever its steps did.

// maskLogFile is a log document ({"steps":[{"name","logs":[...]}]}) with
// every line's key and key-like secrets masked as a load masks them; ok is
// false when body is not one JSON value.
func maskLogFile(body []byte, red *secrets.Redactor) (clean []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, false
	}
	if top, isObj := doc.(map[string]any); isObj {
		steps, _ := top["steps"].([]any)
		for _, st := range steps {
			step, _ := st.(map[string]any)
			lines, _ := step["logs"].([]any)
			for i, l := range lines {
				if s, isStr := l.(string); isStr {
					lines[i] = secrets.MaskKeyLike(red.Redact(s))
				}
			}
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, false
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), true
}

// logFilePrefix is where a replay serves the recorded log file of the
// progress record at the rest of the path.
const logFilePrefix = "/log-file"

// pointAtLogFile is a recorded progress record whose location (its signed
// url dropped by the record) names u instead; another body is left as is.
func pointAtLogFile(body, u string) string {
	if !strings.Contains(body, `"location"`) {
		return body
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil {
		return body
	}
	loc, isObj := doc["location"].(map[string]any)
	if !isObj {
		return body
	}
	loc["url"] = u
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(doc) != nil {
		return body
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// serveLogFile answers a GET of the log file of the progress record at
// progress with the recorded answers in order, the last again once used
// up. A log file the record does not hold, or left out at its size bound,
// gets an S3-style error naming the record.
func (rp *Replay) serveLogFile(w http.ResponseWriter, r *http.Request, progress string) {
	rp.mu.Lock()
	list := rp.logFiles[progress]
	k := "log file of " + progress
	if len(list) == 0 {
		rp.miss = append(rp.miss, "GET "+k)
		rp.mu.Unlock()
		rp.notKept(w, fmt.Sprintf("the debug record %s holds no log file of %s (recorded without log files, or the recorded load did not read it)", rp.name, progress))
		return
	}
	i := min(rp.next[k], len(list)-1)
	rp.next[k] = i + 1
	rp.mu.Unlock()
	e := list[i]
	if e.Omitted == OmittedSizeCap && e.Status >= 200 && e.Status < 300 {
		rp.notKept(w, fmt.Sprintf("the debug record %s left the log file of %s out: the record reached its size bound", rp.name, progress))
		return
	}
	rp.write(w, e)
}

// notKept answers a log file the record cannot serve.
func (rp *Replay) notKept(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusNotImplemented)
	_, _ = w.Write(codefresh.StorageErrorDocument(codefresh.NotInRecord, msg))
}
