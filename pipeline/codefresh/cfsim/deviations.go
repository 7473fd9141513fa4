package cfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Deviations make the simulator answer as Codefresh installs, versions and
// proxies have been seen to differ from the documented API, so tests and
// demos can show how a loader copes. All are off by default: the default
// simulator stays faithful.
type Deviations struct {
	// IgnoreDateFilters: /workflow ignores startDate and endDate and lists
	// every build newest first, as installs did before the filters came.
	IgnoreDateFilters bool
	// Envelope re-wraps every list body: "bare" (a bare array), or the name
	// of the key that holds the records ("docs", "data", "items", "result").
	Envelope string
	// PageSizeCap caps limit at this many records (0: no cap).
	PageSizeCap int
	// RepeatPage is a path (e.g. "/workflow") whose page 2 repeats page 1,
	// once per listing.
	RepeatPage string
	// LoopPages is a path whose listing never ends: past its last page it
	// serves its first page again.
	LoopPages string
	// InsertFront is an offset-paged path (e.g. "/pipelines") whose listing
	// gains a record at its front right after its first page, as when a
	// pipeline is created while a load pages through: every later page is
	// read one place further back, so the last record of page 1 comes again
	// at the top of page 2. Our choice: the inserted record itself is not
	// served (it lies before every offset the listing still asks for), and
	// the next listing starts from the data as it was.
	InsertFront string
	// EchoKey is a path whose records carry the key they were asked with,
	// as an API that echoes a token back would: in field echo_plain as it
	// is, echo_escaped with every character a \u escape, echo_mixed with
	// some characters escaped (either hex case) and some not, and
	// echo_nested as JSON text inside a string (escaped once more).
	EchoKey string
}

// Envelopes a Deviations.Envelope may name.
var Envelopes = []string{"bare", "docs", "data", "items", "result"}

// ParseDeviations reads a comma-separated list such as
// "ignore-date-filters,envelope=data,page-size-cap=25,repeat-page=/workflow,loop-pages=/pipelines,insert-front=/pipelines"
// ("bare-arrays" is envelope=bare).
func ParseDeviations(s string) (Deviations, error) {
	var d Deviations
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		switch k {
		case "ignore-date-filters":
			d.IgnoreDateFilters = true
		case "bare-arrays":
			d.Envelope = "bare"
		case "envelope":
			if !slices.Contains(Envelopes, v) {
				return d, fmt.Errorf("deviation envelope=%q: want one of %s", v, strings.Join(Envelopes, ", "))
			}
			d.Envelope = v
		case "page-size-cap":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return d, fmt.Errorf("deviation page-size-cap=%q: want a positive number", v)
			}
			d.PageSizeCap = n
		case "repeat-page":
			d.RepeatPage = v
		case "loop-pages":
			d.LoopPages = v
		case "insert-front":
			d.InsertFront = v
		case "echo-key":
			d.EchoKey = v
		default:
			return d, fmt.Errorf("unknown deviation %q: want ignore-date-filters, bare-arrays, envelope=NAME, page-size-cap=N, repeat-page=PATH, loop-pages=PATH, insert-front=PATH or echo-key=PATH", item)
		}
	}
	return d, nil
}

// SetDeviations replaces the deviations while serving.
func (s *Server) SetDeviations(d Deviations) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.devs = d
}

func (s *Server) deviations() Deviations {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.devs
}

// deviateRequest changes the request as a deviating server reads it.
func (d Deviations) deviateRequest(r *http.Request, path string) {
	q := r.URL.Query()
	changed := false
	if d.IgnoreDateFilters && path == "/workflow" && (q.Has("startDate") || q.Has("endDate")) {
		q.Del("startDate")
		q.Del("endDate")
		changed = true
	}
	if d.PageSizeCap > 0 {
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > d.PageSizeCap || q.Get("limit") == "" && q.Has("page") {
			q.Set("limit", strconv.Itoa(d.PageSizeCap))
			changed = true
		}
	}
	if path == d.InsertFront {
		if off, err := strconv.Atoi(q.Get("offset")); err == nil && off > 0 {
			q.Set("offset", strconv.Itoa(off-1))
			changed = true
		}
	}
	if changed {
		r.URL.RawQuery = q.Encode()
	}
}

// listing remembers the pages one listing was served, for RepeatPage and
// LoopPages.
type listing struct {
	first    []byte
	repeated bool
	last     []byte
}

// deviateResponse changes a successful body as a deviating server sends it.
func (s *Server) deviateResponse(d Deviations, r *http.Request, path string, resp response) response {
	if resp.status != http.StatusOK {
		return resp
	}
	if path == d.RepeatPage || path == d.LoopPages {
		resp.body = s.replayPage(d, r, path, resp.body)
	}
	if path == d.EchoKey {
		resp.body = echoKey(resp.body, r.Header.Get("Authorization"))
	}
	if d.Envelope != "" {
		if b, ok := rewrap(resp.body, d.Envelope); ok {
			resp.body = b
		}
	}
	return resp
}

// replayPage serves a page of the listing again where RepeatPage or
// LoopPages say so. A listing is the key plus the session id (cursor
// listings) or just the key (offset listings).
func (s *Server) replayPage(d Deviations, r *http.Request, path string, body []byte) []byte {
	q := r.URL.Query()
	firstPage := q.Get("paginationReset") == "true" || (q.Get("page") == "" || q.Get("page") == "1") && (q.Get("offset") == "" || q.Get("offset") == "0")
	key := path + "\x00" + r.Header.Get("Authorization") + "\x00" + r.Header.Get("X-Pagination-Session-Id")
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.listings == nil || len(s.listings) > 10_000 {
		s.listings = map[string]*listing{} // a long-running server forgets old listings
	}
	l := s.listings[key]
	if firstPage || l == nil {
		l = &listing{first: body}
		s.listings[key] = l
		l.last = body
		return body
	}
	if path == d.RepeatPage && !l.repeated {
		l.repeated = true
		return l.last
	}
	if path == d.LoopPages {
		n, ok := listLen(body)
		if first, _ := listLen(l.first); !ok || n < first {
			return l.first // past the end: start over
		}
	}
	l.last = body
	return body
}

// recordKeys are the keys a Codefresh list body keeps its records under.
var recordKeys = []string{"docs", "workflows", "projects", "data", "items", "result"}

// listOf finds the records of a list body: the array, and the top-level
// members beside it (pagination, count) when it is an object.
func listOf(body []byte) (recs json.RawMessage, rest map[string]json.RawMessage, ok bool) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		return json.RawMessage(trimmed), nil, true
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, nil, false
	}
	for _, k := range recordKeys {
		v, found := top[k]
		if !found {
			continue
		}
		if k == "workflows" {
			var inner map[string]json.RawMessage
			if json.Unmarshal(v, &inner) != nil || inner["docs"] == nil {
				continue
			}
			v = inner["docs"]
		}
		if !strings.HasPrefix(strings.TrimSpace(string(v)), "[") {
			continue
		}
		delete(top, k)
		return v, top, true
	}
	return nil, nil, false
}

func listLen(body []byte) (int, bool) {
	recs, _, ok := listOf(body)
	if !ok {
		return 0, false
	}
	var items []json.RawMessage
	if json.Unmarshal(recs, &items) != nil {
		return 0, false
	}
	return len(items), true
}

// rewrap puts a list body's records under another envelope. The members
// beside the records stay, except in a bare array.
func rewrap(body []byte, envelope string) ([]byte, bool) {
	recs, rest, ok := listOf(body)
	if !ok {
		return nil, false
	}
	if envelope == "bare" {
		return recs, true
	}
	if rest == nil {
		rest = map[string]json.RawMessage{}
	}
	rest[envelope] = recs
	b, err := json.Marshal(rest)
	return b, err == nil
}

// echoKey adds the EchoKey fields to every record of a list body (or to the
// body, when it is one object).
func echoKey(body []byte, key string) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root any
	if dec.Decode(&root) != nil || key == "" {
		return body
	}
	var recs []any
	switch x := root.(type) {
	case []any:
		recs = x
	case map[string]any:
		recs = []any{x}
		for _, k := range recordKeys {
			v := x[k]
			if w, ok := v.(map[string]any); ok && k == "workflows" {
				v = w["docs"]
			}
			if list, ok := v.([]any); ok {
				recs = list
				break
			}
		}
	}
	for _, rec := range recs {
		if m, ok := rec.(map[string]any); ok {
			m["echo_plain"], m["echo_escaped"], m["echo_mixed"], m["echo_nested"] = key, "\x00escaped", "\x00mixed", "\x00nested"
		}
	}
	b, err := json.Marshal(root)
	if err != nil {
		return body
	}
	escaped, mixed := escapeEvery(key, "l"), escapeEvery(key, "pUpl")
	nested, _ := json.Marshal(`{"token":"` + escapeEvery(key, "lU") + `"}`)
	r := strings.NewReplacer(`"\u0000escaped"`, `"`+escaped+`"`, `"\u0000mixed"`, `"`+mixed+`"`, `"\u0000nested"`, string(nested))
	return []byte(r.Replace(string(b)))
}

// escapeEvery writes s with its characters as picks says, in turn: 'p'
// plain, 'l' a \u escape in lower-case hex, 'U' in upper case.
func escapeEvery(s, picks string) string {
	var b strings.Builder
	for i, c := range s {
		switch picks[i%len(picks)] {
		case 'l':
			fmt.Fprintf(&b, "\\u%04x", c)
		case 'U':
			fmt.Fprintf(&b, "\\u%04X", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
