package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// tokenParam carries the token in the URL the user opens; a cookie keeps it
// after the first request so links stay free of it.
const tokenParam = "token"

// newToken is 32 random bytes, URL-safe.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// guard lets a request through only when its Host is one the server listens
// as (DNS rebinding: a page of another site resolving its name to 127.0.0.1
// sends its own Host), its Origin, when sent, is the dashboard itself
// (cross-site form posts), and it carries the token. A valid token in the
// URL becomes a cookie and is dropped from the address by a redirect.
type guard struct {
	token  string
	cookie string          // cookie name, per port: cookies do not tell ports apart
	hosts  map[string]bool // accepted Host values, lower case host:port
	next   http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: with no-referrer Chrome sends "Origin: null" on
	// the query form's own POST, which the Origin check refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")

	if !g.hosts[strings.ToLower(r.Host)] {
		forbid(w, "unknown Host "+r.Host+": open the URL that codefresh-mcp show printed")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !g.sameOrigin(o) {
		forbid(w, "cross-origin request refused")
		return
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		forbid(w, "cross-site request refused")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if q := r.URL.Query().Get(tokenParam); q != "" {
		if !g.valid(q) {
			forbid(w, "wrong token: open the URL that codefresh-mcp show printed")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		if r.Method == http.MethodGet {
			u := *r.URL
			v := u.Query()
			v.Del(tokenParam)
			u.RawQuery = v.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		g.next.ServeHTTP(w, r)
		return
	}
	c, err := r.Cookie(g.cookie)
	if err != nil || !g.valid(c.Value) {
		forbid(w, "no token: open the URL that codefresh-mcp show printed (it carries the token)")
		return
	}
	g.next.ServeHTTP(w, r)
}

func (g *guard) valid(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(g.token)) == 1
}

// sameOrigin accepts http://<an accepted host>; "null" and others are refused.
func (g *guard) sameOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Path == "" && g.hosts[strings.ToLower(u.Host)]
}

func forbid(w http.ResponseWriter, msg string) {
	http.Error(w, "403 forbidden: "+msg, http.StatusForbidden)
}

// hostNames are the Host values a browser sends for a server listening on
// addr: the address itself, and for a loopback or wildcard address the
// loopback names; extra names (a wildcard bind's interface addresses) are
// added by the caller.
func hostNames(addr net.Addr, extra ...string) map[string]bool {
	out := map[string]bool{}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return out
	}
	add := func(h string) { out[strings.ToLower(net.JoinHostPort(h, port))] = true }
	add(host)
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		add("127.0.0.1")
		add("::1")
		add("localhost")
	}
	for _, h := range extra {
		add(h)
	}
	return out
}
