package cfsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// canaryKey is the key tests configure; it must never appear in any output.
const canaryKey = "cfk-CANARY-7f3a9d1e5b"

func newTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = canaryKey
	}
	return New(cfg)
}

// do serves one GET through the handler. hdr is name, value pairs; the
// canary key is sent unless an Authorization pair is given.
func do(t testing.TB, s *Server, path string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/api"+path, nil)
	r.Header.Set("Authorization", canaryKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			r.Header.Del(hdr[i])
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w.Code, w.Body.Bytes(), w.Header()
}

// getJSON serves path, requires 200 and decodes the body.
func getJSON(t testing.TB, s *Server, path string, hdr ...string) any {
	t.Helper()
	code, body, _ := do(t, s, path, hdr...)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", path, code, body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: invalid JSON: %v\n%.300s", path, err, body)
	}
	return v
}

// at walks a decoded JSON value by object keys.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any, keys ...string) []any {
	l, _ := at(v, keys...).([]any)
	return l
}

func str(v any, keys ...string) string {
	s, _ := at(v, keys...).(string)
	return s
}

// buildPage fetches one /workflow page.
type buildPage struct {
	docs     []any
	page     int
	nextPage bool
}

func workflowPage(t testing.TB, s *Server, query string, hdr ...string) buildPage {
	t.Helper()
	v := getJSON(t, s, "/workflow?"+query, hdr...)
	p := buildPage{docs: list(v, "workflows", "docs")}
	p.page = int(at(v, "pagination", "page").(float64))
	p.nextPage = at(v, "pagination", "nextPage").(bool)
	return p
}

func ids(docs []any, key string) []string {
	var out []string
	for _, d := range docs {
		out = append(out, str(d, key))
	}
	return out
}
