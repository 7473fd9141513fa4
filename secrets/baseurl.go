package secrets

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// Where a key may be sent is decided here, beside the key: the Codefresh
// client enforces the same rules again when it dials and follows redirects.

// EnvAllowLinkLocal lets the owner send requests to a link-local or cloud
// metadata address (a Codefresh behind such an address is unusual; a URL
// pointing there is far more likely an attempt to reach the metadata service).
const EnvAllowLinkLocal = "CODEFRESH_ALLOW_LINK_LOCAL"

// awsIMDSv6 is the IPv6 address of the EC2 instance metadata service; the
// IPv4 one (169.254.169.254) is link-local, refused with the rest of 169.254/16.
var awsIMDSv6 = netip.MustParseAddr("fd00:ec2::254")

// BaseURLError is a base URL the client refuses before sending anything.
// URL never carries a user name or password.
type BaseURLError struct {
	URL    string
	Reason string
}

func (e *BaseURLError) Error() string {
	return fmt.Sprintf("base URL %s refused: %s", e.URL, e.Reason)
}

// CheckBaseURL parses raw as an API base URL and refuses what must never get
// the key: schemes other than http(s), a URL without host, a user name or
// password in the URL, and a literal link-local or cloud metadata address
// (unless allowLinkLocal). Host names are not resolved here: the dialer
// checks the address it actually connects to (ForbiddenAddr at dial time), which
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
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && !allowLinkLocal && ForbiddenAddr(a) {
		return nil, &BaseURLError{URL: u.Redacted(), Reason: fmt.Sprintf("%s is a link-local or cloud metadata address (allowed only with %s=1)", a, EnvAllowLinkLocal)}
	}
	return u, nil
}

// ForbiddenAddr reports link-local addresses (169.254/16 with the cloud
// metadata services, fe80::/10) and the EC2 metadata IPv6 address.
func ForbiddenAddr(a netip.Addr) bool {
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
