package codefresh

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvAllowLinkLocal lets the owner send requests to a link-local or cloud
// metadata address (a Codefresh behind such an address is unusual; a URL
// pointing there is far more likely an attempt to reach the metadata service).
const EnvAllowLinkLocal = "CODEFRESH_ALLOW_LINK_LOCAL"

// awsIMDSv6 is the IPv6 address of the EC2 instance metadata service; the
// IPv4 one (169.254.169.254) is link-local, refused with the rest of 169.254/16.
var awsIMDSv6 = netip.MustParseAddr("fd00:ec2::254")

// maxRedirects is how many same-origin redirects one request follows.
const maxRedirects = 10

// BaseURLError is a base URL the client refuses before sending anything.
// URL never carries a user name or password.
type BaseURLError struct {
	URL    string
	Reason string
}

func (e *BaseURLError) Error() string {
	return fmt.Sprintf("base URL %s refused: %s", e.URL, e.Reason)
}

// AddressError is a connection refused at dial time: the host name resolved
// to (or is) a link-local or cloud metadata address.
type AddressError struct {
	Address string // ip:port dialled
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("connection to %s refused: a link-local or cloud metadata address (allowed only with %s=1)", e.Address, EnvAllowLinkLocal)
}

// RedirectError is a redirect the client did not follow: to another origin
// (the key must not go there, and a silent move is not trusted either), or
// one too many.
type RedirectError struct {
	Status int    // the redirect's HTTP status
	From   string // the URL redirected, without query
	To     string // where it pointed, without user info or query
	Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("HTTP %d redirect from %s to %s not followed: %s; nothing was sent there", e.Status, e.From, e.To, e.Reason)
}

// CheckBaseURL parses raw as an API base URL and refuses what must never get
// the key: schemes other than http(s), a URL without host, a user name or
// password in the URL, and a literal link-local or cloud metadata address
// (unless allowLinkLocal). Host names are not resolved here: the dialer
// checks the address it actually connects to (see guardedDialer), which
// also catches a name that resolves there later.
func CheckBaseURL(raw string, allowLinkLocal bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, &BaseURLError{URL: "(unparsable)", Reason: "not a URL"}
	}
	if u.User != nil {
		u.User = nil
		return nil, &BaseURLError{URL: u.Redacted(), Reason: "it carries a user name or password; the API key goes in the Authorization header only"}
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return nil, &BaseURLError{URL: u.Scheme + ":…", Reason: fmt.Sprintf("scheme %q: only http and https are allowed", u.Scheme)}
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, &BaseURLError{URL: u.Redacted(), Reason: "no host"}
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !allowLinkLocal && forbiddenAddr(a) {
		return nil, &BaseURLError{URL: u.Redacted(), Reason: fmt.Sprintf("%s is a link-local or cloud metadata address (allowed only with %s=1)", a, EnvAllowLinkLocal)}
	}
	return u, nil
}

// forbiddenAddr reports link-local addresses (169.254/16 with the cloud
// metadata services, fe80::/10) and the EC2 metadata IPv6 address.
func forbiddenAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a == awsIMDSv6
}

// Origin is scheme://host:port of u, lower case with the default port
// spelled out, so that https://x and https://X:443 compare equal.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// OriginOf is Origin of a URL string; "" when it does not parse.
func OriginOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return Origin(u)
}

// guardControl refuses, before connecting, a socket to a forbidden address:
// it sees the address the name resolved to, whatever the name was.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err == nil && forbiddenAddr(ap.Addr()) {
		return &AddressError{Address: address}
	}
	return nil
}

// guardedTransport is http.DefaultTransport's settings with a dialer that
// refuses forbidden addresses: one per process, so that every client shares
// its connection pool as they would share http.DefaultTransport's.
var guardedTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guardControl}
	t.DialContext = d.DialContext
	return t
})

// httpClient is the client's *http.Client: the caller's (tests) or one on the
// guarded transport (unless link-local addresses are allowed), with a
// redirect policy that never leaves base's origin.
func httpClient(given *http.Client, base *url.URL, allowLinkLocal bool) *http.Client {
	var hc http.Client
	switch {
	case given != nil:
		hc = *given // a copy: the caller's client keeps its own policy
	case !allowLinkLocal:
		hc.Transport = guardedTransport()
	}
	origin := Origin(base)
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		re := &RedirectError{From: safeURL(via[len(via)-1].URL), To: safeURL(req.URL)}
		if req.Response != nil {
			re.Status = req.Response.StatusCode
		}
		switch {
		case Origin(req.URL) != origin:
			re.Reason = "it leads to another origin than the base URL " + origin
			return re
		case len(via) >= maxRedirects:
			re.Reason = fmt.Sprintf("more than %d redirects", maxRedirects)
			return re
		}
		return nil
	}
	return &hc
}

// safeURL is u without user info, query or fragment: a Location header can
// carry tokens.
func safeURL(u *url.URL) string {
	s := *u
	s.User, s.RawQuery, s.Fragment, s.RawFragment = nil, "", "", ""
	return s.String()
}

// isPolicyRefusal reports the errors that no retry can fix: a refused
// redirect or address.
func isPolicyRefusal(err error) bool {
	var re *RedirectError
	var ae *AddressError
	return errors.As(err, &re) || errors.As(err, &ae)
}
