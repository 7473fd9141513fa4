package codefresh

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// APIError is a non-success HTTP status from Codefresh, keeping the fields of
// its error body ({"status":401,"code":"2401","name":"UNAUTHORIZED_ERROR","message":...}
// and the {message}, {message,error}, {status:"Error",message} variants).
type APIError struct {
	Status   int
	Code     string // Codefresh's code, e.g. "2401"
	Name     string // e.g. "UNAUTHORIZED_ERROR"
	Message  string
	Method   string
	Path     string // request path under the base URL, without query
	Attempts int
	Scope    string        // the scope the endpoint needs, when the catalog knows it
	Waited   time.Duration // total backoff spent before giving up
	// RetryAfter is the wait the last answer's Retry-After asked for (0:
	// none), WaitBudget the total backoff the client allows a request.
	RetryAfter time.Duration
	WaitBudget time.Duration
}

// NotInRecord is the error name a replayed debug record answers with for a
// request it does not hold.
const NotInRecord = "NOT_IN_RECORD"

// RetryAfterTooLong reports a Retry-After that the client would not wait:
// the request gave up because the server asked for more than its budget.
func (e *APIError) RetryAfterTooLong() bool {
	return e.RetryAfter > 0 && e.Waited+e.RetryAfter > e.WaitBudget
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if f := e.facts(); f != "" {
		b.WriteString(" — " + f)
	}
	return b.String()
}

// facts is what the status alone does not say: the scope the endpoint
// needs, the attempts and backoff spent, the wait the API asked for. What
// to do about it is each front end's to say.
func (e *APIError) facts() string {
	switch {
	case e.Status == 403 && e.Scope != "":
		return fmt.Sprintf("the endpoint needs the %s scope", e.Scope)
	case e.RetryAfterTooLong():
		return fmt.Sprintf("the API asked to retry after %s, more than the %s a request may wait", e.RetryAfter, e.WaitBudget)
	case e.Status == 429 && e.RetryAfter > 0:
		return fmt.Sprintf("rate limited after %d attempts (%s of backoff; the API asked to retry after %s)",
			e.Attempts, e.Waited.Round(time.Millisecond), e.RetryAfter)
	case e.Status == 429:
		return fmt.Sprintf("rate limited after %d attempts (%s of backoff)", e.Attempts, e.Waited.Round(time.Millisecond))
	case e.Status >= 500:
		return fmt.Sprintf("Codefresh server error after %d attempts", e.Attempts)
	}
	return ""
}

// IsStatus reports whether err is (or wraps) an *APIError with that HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// Bounds of an API error: the error body read (the rest is only counted),
// its message and its short fields, as an error, a trace or a tool result
// keeps them. A server may answer an error with megabytes.
const (
	MaxErrorBody    = 64 << 10
	MaxErrorMessage = 1 << 10
	maxErrorField   = 128 // code and name
	maxErrorPage    = 200 // a non-JSON error page (a proxy's HTML), whitespace collapsed
)

// newAPIError reads Codefresh's error body; size is the whole body's length,
// of which body may be only the head (see MaxErrorBody). redact removes the
// API key from anything the server echoed, before any cut.
func newAPIError(status int, body []byte, size int, method, path string, redact func(string) string) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	f, ok := errorFields(body, size > len(body))
	switch {
	case ok:
		e.Code, e.Name = scalarString(f.Code), scalarString(f.Name)
		msg := scalarString(f.Message)
		if extra := scalarString(f.Error); extra != "" && extra != msg {
			msg = strings.TrimPrefix(msg+": "+extra, ": ")
		}
		e.Message = cutMessage(redact(msg), MaxErrorMessage, size > len(body), size)
	default:
		text := strings.Join(strings.Fields(string(body)), " ")
		e.Message = cutMessage(redact(text), maxErrorPage, size > len(body), size)
	}
	e.Name = cutMessage(redact(e.Name), maxErrorField, false, 0)
	e.Code = cutMessage(redact(e.Code), maxErrorField, false, 0)
	return e
}

// errorBody holds the fields of Codefresh's error bodies that matter.
type errorBody struct {
	Code    any `json:"code,omitempty"`
	Name    any `json:"name,omitempty"`
	Message any `json:"message,omitempty"`
	Error   any `json:"error,omitempty"`
}

// errorFields reads an error body, or the head of one cut at MaxErrorBody:
// the fields before the cut, and the head of a string field the cut falls in.
func errorFields(body []byte, cut bool) (errorBody, bool) {
	var f errorBody
	if err := json.Unmarshal(body, &f); err == nil || !cut {
		return f, err == nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return f, false
	}
	fields := map[string]*any{"code": &f.Code, "name": &f.Name, "message": &f.Message, "error": &f.Error}
	for dec.More() {
		t, err := dec.Token()
		k, isKey := t.(string)
		if err != nil || !isKey {
			break
		}
		start := dec.InputOffset()
		var v any
		if err := dec.Decode(&v); err != nil {
			v = stringHead(body[start:])
		}
		if dst := fields[k]; dst != nil {
			*dst = v
		}
		if err != nil {
			break
		}
	}
	return f, true
}

// stringHead decodes the head of a JSON string value cut short (rest starts
// at the colon before it); "" when the value is not a string.
func stringHead(rest []byte) string {
	rest = bytes.TrimLeft(rest, " \t\r\n:")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	raw := rest[1:]
	// The cut may split an escape (\u00e9): drop bytes until the rest decodes.
	for drop := 0; drop <= 6 && drop <= len(raw); drop++ {
		var s string
		if json.Unmarshal([]byte(`"`+string(raw[:len(raw)-drop])+`"`), &s) == nil {
			return s
		}
	}
	return ""
}

// cutMessage keeps the first max bytes of s (whole runes) and says what was
// cut: the message's length, or, when the body itself was cut, the body's.
func cutMessage(s string, max int, bodyCut bool, bodySize int) string {
	switch {
	case bodyCut:
		return cutRunes(s, max) + fmt.Sprintf("… (cut: the error body was %d bytes)", bodySize)
	}
	return CutText(s, max)
}

// CutText keeps the first max bytes of s (whole runes), marked with the
// length cut from: "head… (cut, N bytes)". Any text from outside that is
// kept or returned goes through a bound like this one.
func CutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutRunes(s, max) + fmt.Sprintf("… (cut, %d bytes)", len(s))
}

// cutRunes is s's first max bytes, not splitting a rune.
func cutRunes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// ErrorBody is what of an error body may be kept (the debug record): the
// body when it is at most max bytes, else a JSON body of its code, name and
// the head of its message, as newAPIError reads them (redact removes the key
// before the cut). size is the whole body's length, of which body may be the head.
func ErrorBody(status int, body []byte, size, max int, redact func(string) string) []byte {
	size = cmp.Or(size, len(body))
	if len(body) <= max && size <= len(body) {
		return body
	}
	e := newAPIError(status, body, size, "", "", redact)
	b, err := json.Marshal(struct {
		Status  int    `json:"status"`
		Code    string `json:"code,omitempty"`
		Name    string `json:"name,omitempty"`
		Message string `json:"message"`
	}{status, e.Code, e.Name, e.Message})
	if err != nil { // strings only: cannot fail
		return nil
	}
	return b
}

// TransportError is a request that got no HTTP response (connection refused,
// reset, timeout, cut body), after all attempts.
type TransportError struct {
	Method   string
	URL      string // without secrets
	Attempts int
	Err      error
	msg      string // Err's text with the key removed
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: %s (after %d attempts)", e.Method, e.URL, e.msg, e.Attempts)
}

func (e *TransportError) Unwrap() error { return e.Err }

// DecodeError is a success response whose body is not valid JSON
// (truncated or malformed), after all attempts.
type DecodeError struct {
	Method   string
	URL      string
	Attempts int
	Bytes    int // body length received
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s %s: response body is not valid JSON (%d bytes; truncated or malformed: %v) after %d attempts", e.Method, e.URL, e.Bytes, e.Err, e.Attempts)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// ShapeError is a JSON body where none of the resource's selectors finds records.
type ShapeError struct {
	Resource string
	URL      string
	Expected []string // selectors tried; "" = one object
	Got      string   // what the body was, e.g. `object with keys [count items]`
}

func (e *ShapeError) Error() string {
	exp := make([]string, len(e.Expected))
	for i, s := range e.Expected {
		exp[i] = describeSelector(s)
	}
	return fmt.Sprintf("%s (%s): unexpected response shape: expected %s, got %s", e.Resource, e.URL, strings.Join(exp, " or "), e.Got)
}

// LoopError stops a listing that does not end: a page identical to the one
// before, or more pages than the client's MaxPages.
type LoopError struct {
	Resource string
	Page     int
	Reason   string
}

func (e *LoopError) Error() string {
	return fmt.Sprintf("%s: paging stopped at page %d: %s (the server seems to ignore the paging parameters)", e.Resource, e.Page, e.Reason)
}
