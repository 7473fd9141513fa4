package codefresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

// newClient makes a client with test-sized waits and a debug log captured in
// logs; it fails the test if the canary key ever reaches the log.
func newClient(t *testing.T, base string, mod ...func(*codefresh.Options)) (*codefresh.Client, *logtest.Buffer) {
	t.Helper()
	logs := &logtest.Buffer{}
	opts := codefresh.Options{
		BaseURL:       base,
		APIKey:        canary,
		Timeout:       5 * time.Second,
		RetryBaseWait: time.Millisecond,
		MaxRetryWait:  5 * time.Second,
		RatePerSecond: -1,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&opts)
	}
	c, err := codefresh.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), canary) {
			t.Errorf("API key found in logs:\n%s", logs.String())
		}
	})
	return c, logs
}

// serve starts a loopback server whose handler sees paths below /api.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.StripPrefix("/api", h))
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func noCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("API key in error: %v", err)
	}
}

func TestGetSendsRawKeyGETOnly(t *testing.T) {
	var got http.Header
	var method string
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got, method = r.Header.Clone(), r.Method
		writeJSON(w, 200, map[string]any{"userName": "jdoe"})
	})
	c, _ := newClient(t, base)
	resp, err := c.Get(context.Background(), "/user", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != canary || method != http.MethodGet {
		t.Errorf("Authorization must be the raw key (no Bearer), method GET; got method %s, bearer=%v", method, strings.HasPrefix(got.Get("Authorization"), "Bearer"))
	}
	if resp.Attempts != 1 || resp.Status != 200 || strings.Contains(resp.URL, canary) || !strings.HasSuffix(resp.URL, "/api/user") {
		t.Errorf("response: %+v", resp)
	}
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, map[string]any{"status": 429, "name": "TOO_MANY_REQUESTS", "message": "slow down"})
			return
		}
		writeJSON(w, 200, []any{})
	})
	c, _ := newClient(t, base)
	start := time.Now()
	resp, err := c.Get(context.Background(), "/hermes/triggers", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The base backoff is 1ms: only Retry-After explains a wait near a second.
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("retried after %s, Retry-After asked for 1s", waited)
	}
	if resp.Attempts != 2 || n.Load() != 2 {
		t.Errorf("attempts = %d, server saw %d", resp.Attempts, n.Load())
	}
	if s := c.Stats(); s.Requests != 2 || s.Retries != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestRetryAfterBeyondBudgetGivesUp(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		writeJSON(w, 429, map[string]any{"message": "slow down"})
	})
	c, _ := newClient(t, base, func(o *codefresh.Options) { o.MaxRetryWait = 2 * time.Second })
	_, err := c.Get(context.Background(), "/agents", nil)
	if !codefresh.IsStatus(err, 429) {
		t.Fatalf("err = %v, want 429", err)
	}
	if n.Load() != 1 {
		t.Errorf("server saw %d requests; an HTTP-date Retry-After an hour away exceeds the 2s budget", n.Load())
	}
	if !strings.Contains(err.Error(), "the API asked to retry after ") {
		t.Errorf("message: %v", err)
	}
}

func TestRetry5xxThenSuccess(t *testing.T) {
	var n atomic.Int32
	statuses := []int{502, 503, 500}
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			writeJSON(w, statuses[i], map[string]any{"message": "upstream"})
			return
		}
		writeJSON(w, 200, map[string]any{"projects": []any{}})
	})
	c, _ := newClient(t, base)
	resp, err := c.Get(context.Background(), "/projects", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 4 || c.Stats().Retries != 3 {
		t.Errorf("attempts = %d, retries = %d", resp.Attempts, c.Stats().Retries)
	}
}

func TestPersistent5xxStopsAtCap(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 504, map[string]any{"message": "gateway timeout"})
	})
	c, _ := newClient(t, base, func(o *codefresh.Options) { o.MaxAttempts = 4 })
	_, err := c.Get(context.Background(), "/workflow", nil)
	var ae *codefresh.APIError
	if !errors.As(err, &ae) || ae.Status != 504 || ae.Attempts != 4 || n.Load() != 4 {
		t.Fatalf("err = %v (server saw %d)", err, n.Load())
	}
	if !strings.Contains(err.Error(), "after 4 attempts") || !strings.Contains(err.Error(), "gateway timeout") {
		t.Errorf("message: %v", err)
	}
}

func TestAuthErrorsTypedNoRetry(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.URL.Path == "/user" {
			// A server that echoes the key it got: the client must not repeat it.
			writeJSON(w, 401, map[string]any{"status": 401, "code": "2401", "name": "UNAUTHORIZED_ERROR",
				"message": "token " + r.Header.Get("Authorization") + " is not valid", "context": map[string]any{}})
			return
		}
		writeJSON(w, 403, map[string]any{"status": 403, "code": "2400", "name": "FORBIDDEN_ERROR", "message": "Forbidden"})
	})
	c, _ := newClient(t, base)
	_, err := c.Get(context.Background(), "/user", nil)
	var ae *codefresh.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != "2401" || ae.Name != "UNAUTHORIZED_ERROR" {
		t.Fatalf("err = %#v", err)
	}
	noCanary(t, err)
	if !strings.Contains(ae.Message, "is not valid") || !strings.Contains(err.Error(), "HTTP 401 UNAUTHORIZED_ERROR") {
		t.Errorf("401 message: %v", err)
	}
	builds, _ := codefresh.Lookup("builds")
	err = c.Pages(context.Background(), builds, codefresh.PageOptions{}, func(*codefresh.Page) error { return nil })
	if !codefresh.IsStatus(err, 403) || !strings.Contains(err.Error(), "build:read") || !strings.Contains(err.Error(), "FORBIDDEN_ERROR") {
		t.Errorf("403: %v", err)
	}
	if n.Load() != 2 || c.Stats().Retries != 0 {
		t.Errorf("4xx retried: server saw %d requests", n.Load())
	}
	_, err = c.Get(context.Background(), "/step-types", nil) // scope found from the path
	if !strings.Contains(err.Error(), "step-type:read") {
		t.Errorf("403 via Get: %v", err)
	}
}

func TestMalformedJSON(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"docs":[{"a":1},{"a":`))
	})
	c, _ := newClient(t, base)
	_, err := c.Get(context.Background(), "/pipelines", nil)
	var de *codefresh.DecodeError
	if !errors.As(err, &de) || n.Load() != 3 {
		t.Fatalf("err = %v, server saw %d (want a DecodeError after 1 try + 2 retries)", err, n.Load())
	}
	if !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("message: %v", err)
	}
}

func TestCutBodyRetried(t *testing.T) {
	var n atomic.Int32
	body := `{"docs":[{"metadata":{"id":"1"}}],"count":1}`
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if n.Add(1) == 1 { // declare the full length, send half: the connection ends early
			_, _ = w.Write([]byte(body[:len(body)/2]))
			return
		}
		_, _ = w.Write([]byte(body))
	})
	c, _ := newClient(t, base)
	pipes, _ := codefresh.Lookup("pipelines")
	var recs int
	err := c.Pages(context.Background(), pipes, codefresh.PageOptions{}, func(p *codefresh.Page) error {
		recs += len(p.Records)
		if p.Retries != 1 {
			t.Errorf("page retries = %d", p.Retries)
		}
		return nil
	})
	if err != nil || recs != 1 {
		t.Fatalf("err = %v, records = %d", err, recs)
	}
}

func TestTransportErrorAndTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, _ := newClient(t, "http://"+addr+"/api", func(o *codefresh.Options) { o.MaxAttempts = 2 })
	_, err = c.Get(context.Background(), "/user", nil)
	var te *codefresh.TransportError
	if !errors.As(err, &te) || te.Attempts != 2 {
		t.Fatalf("err = %v", err)
	}
	noCanary(t, err)

	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	c, _ = newClient(t, base, func(o *codefresh.Options) { o.Timeout = 50 * time.Millisecond; o.MaxAttempts = 2 })
	_, err = c.Get(context.Background(), "/user", nil)
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("timeout err = %v", err)
	}
}

func TestCanaryKeyNeverInErrors(t *testing.T) {
	// Invalid characters in the key: the error must not quote it.
	for _, k := range []string{canary + "\n", canary + " x", "Bearer " + canary} {
		_, err := codefresh.New(codefresh.Options{APIKey: k})
		if err == nil {
			t.Errorf("key with spaces or newline accepted")
		}
		noCanary(t, err)
	}
	// A base URL carrying the key as credentials is refused without echoing it.
	_, err := codefresh.New(codefresh.Options{BaseURL: "https://user:" + canary + "@g.codefresh.io/api", APIKey: canary})
	if err == nil {
		t.Error("base URL with credentials accepted")
	}
	noCanary(t, err)
	_, err = codefresh.New(codefresh.Options{BaseURL: "::not a url " + canary, APIKey: canary})
	if err == nil {
		t.Error("bad base URL accepted")
	}
	noCanary(t, err)
	// Echoed in a non-JSON 500 body, in a 404 name: redacted.
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/agents" {
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"name":"%s","message":"no route for %s"}`, r.Header.Get("Authorization"), r.Header.Get("Authorization"))
			return
		}
		w.WriteHeader(500)
		fmt.Fprintf(w, "<html>internal error for key %s</html>", r.Header.Get("Authorization"))
	})
	c, logs := newClient(t, base, func(o *codefresh.Options) { o.MaxAttempts = 2 })
	_, err = c.Get(context.Background(), "/team", nil)
	if !codefresh.IsStatus(err, 500) {
		t.Fatalf("err = %v", err)
	}
	noCanary(t, err)
	_, err = c.Get(context.Background(), "/agents", nil)
	if !codefresh.IsStatus(err, 404) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("404: %v", err)
	}
	noCanary(t, err)
	if !strings.Contains(logs.String(), "codefresh retry") {
		t.Errorf("retry not logged:\n%s", logs.String())
	}
	// A path with the key in it (a caller's mistake) is refused without echoing it.
	_, err = c.Get(context.Background(), "no-slash-"+canary, nil)
	if err == nil {
		t.Error("relative path accepted")
	}
	noCanary(t, err)
}

func TestRefusedRequestsNeverSent(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, map[string]any{})
	})
	c, _ := newClient(t, base)
	ctx := context.Background()
	var re *codefresh.RefusedError
	if _, err := c.Get(ctx, "/builds/rebuild/6650a1b2c3d4e5f607182901", nil); !errors.As(err, &re) || re.Rule != "/builds/rebuild/{id}" {
		t.Errorf("rebuild: %v", err)
	}
	if _, err := c.Get(ctx, "/contexts", url.Values{"decrypt": {"false"}}); !errors.As(err, &re) || re.Param != "decrypt" {
		t.Errorf("decrypt: %v", err)
	}
	pipes, _ := codefresh.Lookup("pipelines")
	err := c.Pages(ctx, pipes, codefresh.PageOptions{Query: url.Values{"decryptVariables": {"true"}}}, func(*codefresh.Page) error { return nil })
	if !errors.As(err, &re) || re.Param != "decryptVariables" {
		t.Errorf("decryptVariables: %v", err)
	}
	byID, _ := codefresh.Lookup("builds_by_id")
	byID.Path = "/builds/rebuild/{id}" // a tampered catalog entry is still refused
	err = c.Pages(ctx, byID, codefresh.PageOptions{PathParams: map[string]string{"id": "1"}}, func(*codefresh.Page) error { return nil })
	if !errors.As(err, &re) {
		t.Errorf("tampered path: %v", err)
	}
	if n.Load() != 0 || c.Stats().Requests != 0 {
		t.Errorf("server saw %d requests", n.Load())
	}
}

func TestRateLimiterShared(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	c, _ := newClient(t, base, func(o *codefresh.Options) { o.RatePerSecond = 40; o.Burst = 1 })
	start := time.Now()
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "/user", nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 5 requests from 5 goroutines through one 40/s bucket of burst 1: at least 4 gaps of 25ms.
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("5 concurrent requests took %s; the bucket is not shared", d)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		writeJSON(w, 503, map[string]any{"message": "busy"})
	})
	c, _ := newClient(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, "/user", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
}
