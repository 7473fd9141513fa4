package dashboard

import (
	"net/http"
	"strings"
	"testing"
)

// TestGuardRefuses: without the token, from another Host (DNS rebinding) or
// another Origin (a cross-site form), every request gets 403.
func TestGuardRefuses(t *testing.T) {
	s := serve(t, demoDir, nil)
	token := s.srv.Token()
	cookie := &http.Cookie{Name: "cfmcp_dashboard_" + s.base[strings.LastIndex(s.base, ":")+1:], Value: token}
	cases := []struct {
		name, method, path string
		host, origin       string
		cookie             *http.Cookie
		want               int
	}{
		{name: "no token", method: "GET", path: "/", want: 403},
		{name: "no token, asset", method: "GET", path: "/assets/style.css", want: 403},
		{name: "no token, query", method: "POST", path: "/query", want: 403},
		{name: "wrong token", method: "GET", path: "/?token=" + strings.Repeat("A", len(token)), want: 403},
		{name: "wrong cookie", method: "GET", path: "/", cookie: &http.Cookie{Name: cookie.Name, Value: "x"}, want: 403},
		{name: "token in URL", method: "GET", path: "/loads?token=" + token, want: 303},
		{name: "cookie", method: "GET", path: "/loads", cookie: cookie, want: 200},
		{name: "localhost name", method: "GET", path: "/", host: "localhost" + s.base[strings.LastIndex(s.base, ":"):], cookie: cookie, want: 200},
		{name: "foreign Host with token", method: "GET", path: "/?token=" + token, host: "evil.example:80", want: 403},
		{name: "foreign Host with cookie", method: "GET", path: "/", host: "rebind.evil.example" + s.base[strings.LastIndex(s.base, ":"):], cookie: cookie, want: 403},
		{name: "foreign Origin", method: "GET", path: "/", origin: "http://evil.example", cookie: cookie, want: 403},
		{name: "foreign Origin posts a query", method: "POST", path: "/query", origin: "http://evil.example", cookie: cookie, want: 403},
		{name: "null Origin", method: "POST", path: "/query", origin: "null", cookie: cookie, want: 403},
		{name: "https Origin of the same host", method: "GET", path: "/", origin: "https" + strings.TrimPrefix(s.base, "http"), cookie: cookie, want: 403},
		{name: "own Origin", method: "GET", path: "/", origin: s.base, cookie: cookie, want: 200},
		{name: "PUT", method: "PUT", path: "/", cookie: cookie, want: 405},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, s.base+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.host != "" {
				req.Host = c.host
			}
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			if c.cookie != nil {
				req.AddCookie(c.cookie)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := read(t, resp)
			if p.StatusCode != c.want {
				t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, p.StatusCode, c.want, p.Body)
			}
			if c.want == 403 && strings.Contains(p.Body, "codefresh_data") {
				t.Errorf("a refused request got data: %s", p.Body)
			}
			if c.want == 303 {
				if loc := resp.Header.Get("Location"); strings.Contains(loc, "token") {
					t.Errorf("redirect keeps the token in the address: %s", loc)
				}
				sc := resp.Header.Get("Set-Cookie")
				if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
					t.Errorf("cookie not HttpOnly + SameSite=Strict: %s", sc)
				}
			}
		})
	}
}

func TestGuardHeaders(t *testing.T) {
	s := serve(t, demoDir, nil)
	p := s.get(t, "/")
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if p.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if csp := p.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") && !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP allows scripts: %s", csp)
	}
}
