package secrets

import (
	"fmt"
	"strings"
)

// SourcePipelineFile names the pipeline file's base_url: a request for a
// URL, which an agent or a cloned repository may have written.
const SourcePipelineFile = "codefresh_pipeline.toml"

// urlRequest is which base URL is asked for, before the key is known.
type urlRequest struct {
	// session is the owner's URL for every key of this run: the flag or the
	// environment. It wins over everything else.
	session, sessionSource string
	// project is what a project file asks for (the pipeline file, else
	// .dlt/secrets.toml): honoured only for the key's own origin or a
	// trusted one.
	project, projectSource string
	// lookup is the keyring user to look up: the first of the above, else
	// ~/.cfconfig's url, else the default.
	lookup, lookupSource string
}

// requestURL reads the URL sources: --base-url, env CODEFRESH_BASE_URL, env
// SOURCES__CODEFRESH_SOURCE__BASE_URL, the pipeline file's base_url,
// .dlt/secrets.toml base_url, ~/.cfconfig url, default.
func requestURL(opts Options, file, cfc found) (urlRequest, []string, error) {
	var r urlRequest
	var warnings []string
	if opts.BaseURL != "" {
		u, err := normalizeBaseURL(opts.BaseURL, false)
		if err != nil {
			return r, nil, fmt.Errorf("--base-url: %w", err)
		}
		r.session, r.sessionSource = u, SourceFlag
	}
	for _, name := range []string{EnvBaseURL, EnvDltBaseURL} {
		raw := strings.TrimSpace(opts.Env(name))
		if r.session != "" || raw == "" {
			continue
		}
		u, err := normalizeBaseURL(raw, false)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("base URL from %s ignored: %v", envSource(name), err))
			continue
		}
		r.session, r.sessionSource = u, envSource(name)
	}
	if raw := strings.TrimSpace(opts.ProjectBaseURL); raw != "" {
		u, err := normalizeBaseURL(raw, false)
		if err != nil {
			return r, nil, fmt.Errorf("%s base_url: %w", SourcePipelineFile, err)
		}
		r.project, r.projectSource = u, SourcePipelineFile
	} else if file.url != "" {
		r.project, r.projectSource = file.url, SourceSecretsTOML
	}
	switch {
	case r.session != "":
		r.lookup, r.lookupSource = r.session, r.sessionSource
		if r.project != "" && OriginOf(r.project) != OriginOf(r.session) {
			warnings = append(warnings, fmt.Sprintf("%s base_url %s ignored: %s sets %s", r.projectSource, r.project, r.sessionSource, r.session))
		}
	case r.project != "":
		r.lookup, r.lookupSource = r.project, r.projectSource
	case cfc.url != "":
		r.lookup, r.lookupSource = cfc.url, SourceCFConfig
	default:
		r.lookup, r.lookupSource = DefaultBaseURL, SourceDefault
	}
	return r, warnings, nil
}

// keyHome is the URL a key belongs to, as its owner stored or configured it,
// and why.
func keyHome(win found, r urlRequest) (url, why string) {
	switch {
	case r.session != "":
		return r.session, "set by " + r.sessionSource
	case win.report.Source == SourceKeyring:
		return r.lookup, "the keyring entry's user"
	case win.url != "":
		return win.url, "stored with the key in " + win.report.Source
	case strings.HasPrefix(win.report.Source, "env:"):
		return DefaultBaseURL, "default: no " + EnvBaseURL + " is set beside the key"
	}
	return DefaultBaseURL, "default: no URL is stored with the key in " + win.report.Source
}

// urlChoice is the base URL a key is sent to, where it came from and why
// the key may go there.
type urlChoice struct {
	url, source, reason string
}

// chooseURL decides where the winning key goes. This is the one place that
// decides it: Resolve (and so load, preview, the credential check and `secrets
// check`) all go through it. A project file's URL is used only when it has
// the key's own origin or the owner trusted that origin for the key and
// project with `secrets trust-url`; otherwise it is an *UntrustedURLError.
func chooseURL(opts Options, r urlRequest, win found, reports []SourceReport) (urlChoice, error) {
	home, why := keyHome(win, r)
	switch {
	case r.session != "":
		return urlChoice{r.session, r.sessionSource, why}, nil
	case r.project == "":
		return urlChoice{home, homeSource(win, r), why}, nil
	case OriginOf(r.project) == OriginOf(home):
		return urlChoice{r.project, r.projectSource, "same origin as the key's URL " + home + " (" + why + ")"}, nil
	}
	origin := OriginOf(r.project)
	t, err := findTrust(opts, win.report.Fingerprint, origin)
	if err != nil {
		return urlChoice{}, err
	}
	if t != nil {
		return urlChoice{r.project, r.projectSource, fmt.Sprintf("%s trusted for this key and project with `codefresh-mcp secrets trust-url` on %s",
			origin, t.Added.Format("2006-01-02"))}, nil
	}
	return urlChoice{}, &UntrustedURLError{
		URL: r.project, URLSource: r.projectSource, KeySource: win.report.Source, Fingerprint: win.report.Fingerprint,
		KeyURL: home, KeyURLReason: why, ProjectDir: opts.ProjectDir, Sources: reports,
	}
}

// homeSource names where the key's own URL came from, as BaseURLSource.
func homeSource(win found, r urlRequest) string {
	switch {
	case win.report.Source == SourceKeyring:
		return r.lookupSource
	case win.url != "":
		return win.report.Source
	}
	return SourceDefault
}

// UntrustedURLError refuses to send a key to a URL that a project file asks
// for when the key belongs elsewhere. Nothing has been sent when it is
// returned. It never carries the key.
type UntrustedURLError struct {
	URL          string         `json:"url"`            // the URL asked for
	URLSource    string         `json:"url_source"`     // the file asking for it
	KeySource    string         `json:"key_source"`     // where the key came from
	Fingerprint  string         `json:"fingerprint"`    // of the key
	KeyURL       string         `json:"key_url"`        // the URL the key belongs to
	KeyURLReason string         `json:"key_url_reason"` // why it belongs there
	ProjectDir   string         `json:"project_dir"`
	Sources      []SourceReport `json:"sources"`
}

func (e *UntrustedURLError) Error() string {
	return fmt.Sprintf("refused to send the API key from %s (fingerprint %s) to %s, which %s base_url asks for: "+
		"the key belongs to %s (%s), another origin; nothing was sent",
		e.KeySource, e.Fingerprint, e.URL, e.URLSource, e.KeyURL, e.KeyURLReason)
}

// TrustCommand is the command the user runs in a terminal to let this key
// go to e.URL for this project.
func (e *UntrustedURLError) TrustCommand() string {
	return "codefresh-mcp --project " + shellQuote(e.ProjectDir) + " secrets trust-url " + shellQuote(e.URL)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
