package codefresh_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A base URL that could hand the key to something else than an HTTP API
// is refused before anything is sent, with the reason.
func TestBaseURLRefused(t *testing.T) {
	cases := []struct{ url, want string }{
		{"file:///etc/passwd", `base URL file:… refused: scheme "file": only http and https are allowed`},
		{"gopher://example.com/api", `base URL gopher:… refused: scheme "gopher": only http and https are allowed`},
		{"https://user:" + canary + "@example.com/api", "base URL https://example.com/api refused: it carries a user name or password; the API key goes in the Authorization header only"},
		{"http://169.254.169.254/latest/meta-data", "base URL http://169.254.169.254/latest/meta-data refused: 169.254.169.254 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{"http://169.254.1.2:8080/api", "base URL http://169.254.1.2:8080/api refused: 169.254.1.2 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{"http://[fd00:ec2::254]/api", "base URL http://[fd00:ec2::254]/api refused: fd00:ec2::254 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{"http://[::ffff:169.254.169.254]/api", "base URL http://[::ffff:169.254.169.254]/api refused: ::ffff:169.254.169.254 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{"http://[fe80::1]/api", "base URL http://[fe80::1]/api refused: fe80::1 is a link-local or cloud metadata address (allowed only with CODEFRESH_ALLOW_LINK_LOCAL=1)"},
		{"https:///api", "base URL https:///api refused: no host"},
	}
	for _, tc := range cases {
		_, err := codefresh.New(codefresh.Options{BaseURL: tc.url, APIKey: canary})
		var be *secrets.BaseURLError
		if !errors.As(err, &be) || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error carries the key", tc.url)
		}
	}
	// The owner may allow a link-local address explicitly.
	if _, err := codefresh.New(codefresh.Options{BaseURL: "http://169.254.169.254/api", APIKey: canary, AllowLinkLocal: true}); err != nil {
		t.Fatalf("allowed link-local: %v", err)
	}
}

// counter is a loopback listener that counts requests and those that
// carried the canary key.
type counter struct {
	srv          *httptest.Server
	all, withKey atomic.Int32
}

func newCounter(t *testing.T) *counter {
	c := &counter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.all.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), canary) {
			c.withKey.Add(1)
		}
		writeJSON(w, 200, []any{})
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// A redirect to another origin (here another port of the same host) is
// not followed, with or without the key, and not retried.
func TestRedirectToOtherOriginNotFollowed(t *testing.T) {
	other := newCounter(t)
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		var hits atomic.Int32
		base := serve(t, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			http.Redirect(w, r, other.srv.URL+"/api/agents?token=abc", code)
		})
		c, _ := newClient(t, base)
		_, err := c.Get(context.Background(), "/agents", nil)
		want := "GET " + base + "/agents: HTTP " + strconv.Itoa(code) + " redirect from " + base + "/agents to " + other.srv.URL +
			"/api/agents not followed: it leads to another origin than the base URL " + strings.TrimSuffix(base, "/api") + "; nothing was sent there"
		var re *codefresh.RedirectError
		if !errors.As(err, &re) || err.Error() != want {
			t.Fatalf("HTTP %d:\n got %v\nwant %s", code, err, want)
		}
		if hits.Load() != 1 {
			t.Errorf("HTTP %d: base URL asked %d times, want 1 (no retry)", code, hits.Load())
		}
	}
	if other.all.Load() != 0 {
		t.Fatalf("the other origin got %d requests (%d with the key)", other.all.Load(), other.withKey.Load())
	}
}

// A redirect within the base URL's origin is followed, key included.
func TestSameOriginRedirectFollowed(t *testing.T) {
	var keyed atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == canary {
			keyed.Add(1)
		}
		if r.URL.Path == "/agents" {
			http.Redirect(w, r, "/api/agents/", http.StatusMovedPermanently)
			return
		}
		writeJSON(w, 200, []any{})
	})
	c, _ := newClient(t, base)
	if _, err := c.Get(context.Background(), "/agents", nil); err != nil {
		t.Fatal(err)
	}
	if keyed.Load() != 2 {
		t.Fatalf("%d requests carried the key, want 2", keyed.Load())
	}
}

// A Retry-After longer than the client waits ends at once with an error
// that says how long the API asked for.
func TestRetryAfter28Hours(t *testing.T) {
	var n atomic.Int32
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Retry-After", "100800")
		writeJSON(w, 429, map[string]any{"message": "slow down"})
	})
	c, _ := newClient(t, base)
	_, err := c.Get(context.Background(), "/agents", nil)
	want := "GET /agents: HTTP 429: slow down — the API asked to retry after 28h0m0s, more than the 5s a request may wait"
	var ae *codefresh.APIError
	if !errors.As(err, &ae) || err.Error() != want {
		t.Fatalf("\n got %v\nwant %s", err, want)
	}
	if ae.RetryAfter != 28*time.Hour || !ae.RetryAfterTooLong() || n.Load() != 1 {
		t.Fatalf("retry after %s, too long %v, %d requests", ae.RetryAfter, ae.RetryAfterTooLong(), n.Load())
	}
}
