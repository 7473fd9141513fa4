package codefresh

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/cfmcp/codefresh-mcp/secrets"
)

// maxRedirects is how many same-origin redirects one request follows.
const maxRedirects = 10

// AddressError is a connection refused at dial time: the host name resolved
// to (or is) a link-local or cloud metadata address.
type AddressError struct {
	Address string // ip:port dialled
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("connection to %s refused: a link-local or cloud metadata address (allowed only with %s=1)", e.Address, secrets.EnvAllowLinkLocal)
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

// guardControl refuses, before connecting, a socket to a forbidden address:
// it sees the address the name resolved to, whatever the name was.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err == nil && secrets.ForbiddenAddr(ap.Addr()) {
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
	origin := secrets.Origin(base)
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		re := &RedirectError{From: safeURL(via[len(via)-1].URL), To: safeURL(req.URL)}
		if req.Response != nil {
			re.Status = req.Response.StatusCode
		}
		switch {
		case secrets.Origin(req.URL) != origin:
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
