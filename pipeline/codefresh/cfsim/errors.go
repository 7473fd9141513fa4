package cfsim

import (
	"fmt"
	"math"
	"net/http"
)

// Error bodies. 401, 403 and 404 follow the bodies quoted in API.md §5.4;
// 400 (cursor jump, bad parameter), 429 and 500 have no public example, so
// their code/name values are our choice in the same shape.

func errBody(status int, code, name, message string, context func(w *jw)) response {
	var w jw
	w.open('{')
	w.ki("status", int64(status))
	w.ks("code", code)
	w.ks("name", name)
	w.ks("message", message)
	if context != nil {
		w.key("context")
		w.open('{')
		context(&w)
		w.close('}')
	}
	w.close('}')
	return response{status: status, body: w.b}
}

// errNoToken is the body Codefresh sends when no Authorization header came.
func errNoToken() response {
	return response{status: http.StatusUnauthorized,
		body: []byte(`{"status":401,"code":"2401","name":"UNAUTHORIZED_ERROR","message":"Failed to authenticate request because no token was provided"}`)}
}

// errBadToken never repeats the token it got.
func errBadToken() response {
	return errBody(http.StatusUnauthorized, "2401", "UNAUTHORIZED_ERROR", "Failed to authenticate request because token is not valid", func(*jw) {})
}

func errForbidden(scope string) response {
	return errBody(http.StatusForbidden, "2400", "FORBIDDEN_ERROR",
		fmt.Sprintf("API key does not have the required scope: '%s'", scope),
		func(w *jw) { w.ks("requiredScope", scope) })
}

func errNotFound(msg string) response {
	return errBody(http.StatusNotFound, "101", "NOT_FOUND_ERROR", msg, nil)
}

// errBadRequest: our choice of code/name for 400s.
func errBadRequest(msg string) response {
	return errBody(http.StatusBadRequest, "1400", "BAD_REQUEST_ERROR", msg, func(*jw) {})
}

// err429: Codefresh documents 429 per API key but no body or headers; we
// send Retry-After (whole seconds) and an error body in the usual shape.
func (s *Server) err429() response {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.err429Locked()
}

func (s *Server) err429Locked() response {
	secs := int(math.Ceil(s.faults.RetryAfter.Seconds()))
	resp := errBody(http.StatusTooManyRequests, "2429", "TOO_MANY_REQUESTS_ERROR", "Rate limit exceeded for this API key", func(*jw) {})
	resp.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
	return resp
}

// err5xx picks one of the gateway failures a client should retry. The gateway
// ones (502/503/504) come back as plain text, as a proxy sends them: clients
// must branch on the status, not the body.
func (s *Server) err5xx() response {
	s.fmu.Lock()
	st := []int{500, 502, 503, 504}[s.frng.IntN(4)]
	s.fmu.Unlock()
	return errStatus(st)
}

func errStatus(status int) response {
	if status == http.StatusInternalServerError {
		return errBody(status, "1001", "INTERNAL_SERVER_ERROR", "Internal server error", func(*jw) {})
	}
	if status >= 500 {
		return response{status: status, body: []byte(http.StatusText(status) + "\n"),
			header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}}
	}
	switch status {
	case http.StatusUnauthorized:
		return errBadToken()
	case http.StatusForbidden:
		return errBody(status, "2400", "FORBIDDEN_ERROR", "Access to this API key has been restricted", func(*jw) {})
	case http.StatusNotFound:
		return errNotFound("Not found")
	}
	return errBody(status, fmt.Sprint(status), "ERROR", http.StatusText(status), func(*jw) {})
}
