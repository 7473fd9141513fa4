// Package secrets finds the Codefresh API key where users keep it, checks it
// without revealing it, and redacts it from everything the process writes.
package secrets

// Options tell Resolve where to look. Zero values mean the real environment.
type Options struct {
	ProjectDir string              // where .dlt/secrets.toml is
	HomeDir    string              // where ~/.cfconfig is (default: os.UserHomeDir)
	BaseURL    string              // --base-url flag, wins over every source for the URL
	Env        func(string) string // default os.Getenv
}

// SourceReport says what one source had: found / not_found / unavailable, with a reason; never the value.
type SourceReport struct {
	Source string `json:"source"` // "env:CF_API_KEY", "keyring", ".dlt/secrets.toml", "~/.cfconfig"
	Status string `json:"status"` // "found", "not_found", "unavailable"
	Reason string `json:"reason,omitempty"`
}

// Credentials is the resolved key. The key itself is reachable only through
// APIKey(); String and JSON never carry it.
type Credentials struct {
	key           string
	Source        string         `json:"source"`
	BaseURL       string         `json:"base_url"`
	BaseURLSource string         `json:"base_url_source"`
	Fingerprint   string         `json:"fingerprint"`
	Sources       []SourceReport `json:"sources"`
	Warnings      []string       `json:"warnings,omitempty"`
}

// APIKey returns the key for the Authorization header. Never log or return it.
func (c *Credentials) APIKey() string { return c.key }
