package codefresh

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
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
	if h := e.Hint(); h != "" {
		b.WriteString(" — " + h)
	}
	return b.String()
}

// Hint says what to do about the error.
func (e *APIError) Hint() string {
	switch {
	case e.Status == 401:
		return "the API key is invalid or missing: set it with `codefresh-mcp secrets set`"
	case e.Status == 403 && e.Scope != "":
		return fmt.Sprintf("the API key lacks the %s scope, or the key is restricted (Codefresh restricts keys after unusual activity), or the user may not read this: use a key with the %s scope", e.Scope, e.Scope)
	case e.Status == 403:
		return "the API key is restricted or the user may not read this (admin-only endpoint?)"
	case e.Status == 404:
		return "not found: check the id or name (this Codefresh installation may not have the endpoint)"
	case e.RetryAfterTooLong():
		return fmt.Sprintf("the API asked to retry after %s, more than the %s a request may wait: try again after that (a lower request rate does not shorten it)",
			e.RetryAfter, e.WaitBudget)
	case e.Status == 429 && e.RetryAfter > 0:
		return fmt.Sprintf("rate limited after %d attempts (%s of backoff; the API asked to retry after %s): retry after that, or lower the request rate",
			e.Attempts, e.Waited.Round(time.Millisecond), e.RetryAfter)
	case e.Status == 429:
		return fmt.Sprintf("rate limited after %d attempts (%s of backoff): wait a minute and retry, or lower the request rate", e.Attempts, e.Waited.Round(time.Millisecond))
	case e.Status >= 500:
		return fmt.Sprintf("Codefresh server error after %d attempts: retry later", e.Attempts)
	}
	return ""
}

// IsStatus reports whether err is (or wraps) an *APIError with that HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// newAPIError reads Codefresh's error body; redact removes the API key from
// anything the server echoed.
func newAPIError(status int, body []byte, method, path string, redact func(string) string) *APIError {
	e := &APIError{Status: status, Method: method, Path: path}
	var b struct {
		Code    any    `json:"code"`
		Name    string `json:"name"`
		Message any    `json:"message"`
		Error   any    `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err == nil {
		e.Code = scalarString(b.Code)
		e.Name = b.Name
		msg := scalarString(b.Message)
		if extra := scalarString(b.Error); extra != "" && extra != msg {
			msg = strings.TrimPrefix(msg+": "+extra, ": ")
		}
		e.Message = msg
	} else if text := strings.Join(strings.Fields(string(body)), " "); text != "" {
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		e.Message = text
	}
	e.Message = redact(e.Message)
	e.Name = redact(e.Name)
	e.Code = redact(e.Code)
	return e
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
	return fmt.Sprintf("%s %s: %s (after %d attempts): check the base URL and the network", e.Method, e.URL, e.msg, e.Attempts)
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
