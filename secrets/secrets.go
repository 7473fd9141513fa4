// Package secrets finds the secrets where users keep them (the Codefresh API
// key), decides where the key may be sent, and redacts it from everything the
// process writes. It imports nothing else from the project.
package secrets

import (
	"fmt"
	"strings"
)

// Options tell Resolve where to look. Zero values mean the real environment.
type Options struct {
	ProjectDir string              // where .dlt/secrets.toml is
	HomeDir    string              // where ~/.cfconfig is (default: os.UserHomeDir)
	BaseURL    string              // --base-url flag, wins over every source for the URL
	Env        func(string) string // default os.Getenv
	// ProjectBaseURL is the pipeline file's base_url: a request, honoured
	// only for the key's own origin or one trusted with `secrets trust-url`.
	ProjectBaseURL string
	// ConfigDir holds the trust file (default os.UserConfigDir()/codefresh-mcp).
	ConfigDir string
}

// SourceReport says what one source had: found / not_found / unavailable, with a reason; never the value.
type SourceReport struct {
	Source string `json:"source"` // "env:CF_API_KEY", "keyring", ".dlt/secrets.toml", "~/.cfconfig"
	Status string `json:"status"` // "found", "not_found", "unavailable"
	Reason string `json:"reason,omitempty"`
	// Fingerprint of the key this source holds (see Fingerprint), so a user
	// can tell which sources agree without seeing any key.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Source statuses.
const (
	StatusFound       = "found"
	StatusNotFound    = "not_found"
	StatusUnavailable = "unavailable"
)

// Credentials is the resolved key. The key itself is reachable only through
// APIKey(); String and JSON never carry it.
type Credentials struct {
	key           string
	Source        string         `json:"source"`
	BaseURL       string         `json:"base_url"`
	BaseURLSource string         `json:"base_url_source"`
	BaseURLReason string         `json:"base_url_reason,omitempty"` // why the key may go there
	Fingerprint   string         `json:"fingerprint"`
	Sources       []SourceReport `json:"sources"`
	Warnings      []string       `json:"warnings,omitempty"`

	allowLinkLocal bool // the owner's EnvAllowLinkLocal
}

// AllowLinkLocal is the owner's permission (EnvAllowLinkLocal) to send
// this key to a link-local or cloud metadata address.
func (c *Credentials) AllowLinkLocal() bool { return c.allowLinkLocal }

// APIKey returns the key for the Authorization header. Never log or return it.
func (c *Credentials) APIKey() string { return c.key }

// String describes the credentials without the key (fmt's %v and %+v use it).
func (c Credentials) String() string {
	return fmt.Sprintf("codefresh key from %s (fingerprint %s) for %s", c.Source, c.Fingerprint, c.BaseURL)
}

// GoString keeps %#v from printing the unexported key field.
func (c Credentials) GoString() string { return "secrets.Credentials{" + c.String() + "}" }

// NoKeyError is Resolve's answer when no source holds a key. It lists what
// every source said and how to set a key.
type NoKeyError struct {
	BaseURL string         `json:"base_url"`
	Sources []SourceReport `json:"sources"`
}

func (e *NoKeyError) Error() string {
	parts := make([]string, 0, len(e.Sources))
	for _, s := range e.Sources {
		p := s.Source + ": " + s.Status
		if s.Reason != "" {
			p += " (" + s.Reason + ")"
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("no Codefresh API key found for %s (looked in %s); store one with `codefresh-mcp secrets set` "+
		"(OS keyring, or .dlt/secrets.toml where no keyring is available) or export %s",
		e.BaseURL, strings.Join(parts, "; "), EnvAPIKey)
}
