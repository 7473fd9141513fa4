package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

func TestOriginAllowed(t *testing.T) {
	allow := []string{"https://team.example.com"}
	for origin, want := range map[string]bool{
		"":                              true, // not a browser
		"http://localhost:5173":         true,
		"https://localhost":             true,
		"http://127.0.0.1:8765":         true,
		"http://127.8.9.1":              true,
		"http://[::1]:3000":             true,
		"https://team.example.com":      true,
		"HTTPS://TEAM.EXAMPLE.COM":      true,
		"https://team.example.com:8443": false,
		"http://team.example.com":       false,
		"https://evil.example":          false,
		"http://localhost.evil.example": false,
		"http://127.0.0.1.nip.io":       false,
		"null":                          false,
		"file://":                       false,
		"http://localhost/path":         false,
		"http://user@localhost":         false,
		"ws://localhost":                false,
	} {
		if got := originAllowed(origin, allow); got != want {
			t.Errorf("originAllowed(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{
		"Bearer cfmcp_abc":   "cfmcp_abc",
		"bearer  cfmcp_abc ": "cfmcp_abc",
		"BEARER cfmcp_abc":   "cfmcp_abc",
		"Bearer":             "",
		"Bearer ":            "",
		"Basic cfmcp_abc":    "",
		"cfmcp_abc":          "",
		"":                   "",
	} {
		got, ok := bearerToken(h)
		if got != want || ok != (want != "") {
			t.Errorf("bearerToken(%q) = %q, %v; want %q", h, got, ok, want)
		}
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8765": true, "localhost:0": true, "[::1]:80": true, "127.0.0.2:1": true,
		":8765": false, "0.0.0.0:8765": false, "[::]:8765": false, "192.168.1.5:8765": false,
		"mcp.example.com:443": false, "127.0.0.1": false,
	} {
		if got := IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// ServeHTTP stops when its context ends: the listener closes and the call returns.
func TestServeHTTPStopsWithItsContext(t *testing.T) {
	tokens, err := secrets.NewTokenVerifier(secrets.Options{ConfigDir: filepath.Join(t.TempDir(), "cfg")})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{ProjectDir: t.TempDir(), ReadOnly: true})
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.ServeHTTP(ctx, HTTPOptions{Addr: "127.0.0.1:0", Tokens: tokens, Listening: func(a net.Addr) { bound <- a }})
	}()
	addr := <-bound
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatalf("dial the bound address: %v", err)
	}
	conn.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeHTTP after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ServeHTTP did not return after its context ended")
	}
	if c, err := net.Dial("tcp", addr.String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after ServeHTTP returned")
	}
}

// Beyond max POSTs in flight the next is answered 503 at once; GETs pass.
func TestLimitInFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	h := limitInFlight(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusNoContent)
	}), 2)
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", nil))
			codes <- rec.Code
		}()
	}
	<-entered
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("third POST: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/mcp", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("GET while full: %d", rec.Code)
	}
	close(release)
	for range 2 {
		if c := <-codes; c != http.StatusNoContent {
			t.Fatalf("a POST in flight answered %d", c)
		}
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST after the others ended: %d", rec.Code)
	}
}

// An accepted request goes on with the caller's token id in its context
// and without its Authorization header: nothing after the guard sees a token.
func TestGuardPassesTheCallerNotTheToken(t *testing.T) {
	opts := secrets.Options{ConfigDir: t.TempDir()}
	token, info, err := secrets.CreateToken(opts, "t")
	if err != nil {
		t.Fatal(err)
	}
	tokens, _ := secrets.NewTokenVerifier(opts)
	s := New(Options{ProjectDir: t.TempDir()})
	defer s.Close()
	var owner, auth string
	h := s.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		owner, auth = jobOwner(r.Context()), r.Header.Get("Authorization")
	}), tokens, nil)
	req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || owner != "token:"+info.ID || auth != "" {
		t.Fatalf("status %d, owner %q, Authorization seen %q", rec.Code, owner, auth)
	}
	if req.Header.Get("Authorization") == "" {
		t.Fatal("the caller's own request lost its header")
	}
	if jobOwner(context.Background()) != "" {
		t.Fatal("a request without a caller (stdio) has an owner")
	}
}
