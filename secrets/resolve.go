package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// Names of the places a key or a base URL can come from.
const (
	EnvAPIKey     = "CF_API_KEY"                         // Codefresh CLI's name
	EnvDltAPIKey  = "SOURCES__CODEFRESH_SOURCE__API_KEY" // dlt's name
	EnvBaseURL    = "CODEFRESH_BASE_URL"
	EnvDltBaseURL = "SOURCES__CODEFRESH_SOURCE__BASE_URL"
	EnvCFConfig   = "CFCONFIG" // the Codefresh SDK's override of the ~/.cfconfig path

	SourceKeyring     = "keyring"
	SourceSecretsTOML = ".dlt/secrets.toml"
	SourceCFConfig    = "~/.cfconfig"
	SourceFlag        = "flag:--base-url"
	SourceDefault     = "default"

	KeyringService = "codefresh-mcp"
	DefaultBaseURL = "https://g.codefresh.io/api"
)

// SecretsTOMLPath is where dlt keeps a project's secrets.
func SecretsTOMLPath(projectDir string) string {
	return filepath.Join(projectDir, ".dlt", "secrets.toml")
}

func envSource(name string) string { return "env:" + name }

// found is one source's key (and the URL stored beside it, if any).
type found struct {
	report SourceReport
	key    string
	url    string // base URL kept with the key (secrets.toml base_url, cfconfig url)
}

// Resolve finds the API key: env CF_API_KEY, env SOURCES__CODEFRESH_SOURCE__API_KEY,
// the OS keyring (user = base URL), .dlt/secrets.toml, ~/.cfconfig; the first
// hit wins. Every source is read so that disagreements can be reported. With
// no key anywhere it returns a *NoKeyError. The base URL is chosen by
// chooseURL: a URL a project file asks for that is not the key's own origin
// (nor trusted for it) is an *UntrustedURLError, returned before anything
// is sent.
func Resolve(ctx context.Context, opts Options) (*Credentials, error) {
	opts = opts.withDefaults()
	file := readSecretsTOML(opts.ProjectDir)
	cfc := readCFConfig(opts)

	req, warnings, err := requestURL(opts, file, cfc)
	if err != nil {
		return nil, err
	}

	sources := []found{
		readEnv(opts, EnvAPIKey),
		readEnv(opts, EnvDltAPIKey),
		readKeyring(ctx, opts, req.lookup),
		file,
		cfc,
	}
	reports := make([]SourceReport, len(sources))
	var win *found
	for i := range sources {
		if sources[i].key != "" {
			sources[i].report.Fingerprint = Fingerprint(sources[i].key)
			if win == nil {
				win = &sources[i]
			}
		}
		reports[i] = sources[i].report
	}
	if fileReadableByOthers(SecretsTOMLPath(opts.ProjectDir)) {
		warnings = append(warnings, SourceSecretsTOML+" is readable by other users: chmod 600 it")
	}
	if win == nil {
		return nil, &NoKeyError{BaseURL: req.lookup, Sources: reports}
	}
	for _, s := range sources {
		if s.key != "" && s.key != win.key {
			warnings = append(warnings, fmt.Sprintf("%s holds a different key (fingerprint %s) than %s (fingerprint %s), which is used",
				s.report.Source, s.report.Fingerprint, win.report.Source, win.report.Fingerprint))
		}
	}
	choice, err := chooseURL(opts, req, *win, reports)
	if err != nil {
		return nil, err
	}
	if _, err := CheckBaseURL(choice.url, allowLinkLocal(opts)); err != nil {
		return nil, fmt.Errorf("%s: %w", choice.source, err)
	}
	if win.url != "" && OriginOf(win.url) != OriginOf(choice.url) {
		warnings = append(warnings, fmt.Sprintf("the key from %s was stored for %s but the base URL is %s (from %s)",
			win.report.Source, win.url, choice.url, choice.source))
	}
	return &Credentials{
		key:            win.key,
		Source:         win.report.Source,
		BaseURL:        choice.url,
		BaseURLSource:  choice.source,
		BaseURLReason:  choice.reason,
		Fingerprint:    win.report.Fingerprint,
		Sources:        reports,
		Warnings:       warnings,
		allowLinkLocal: allowLinkLocal(opts),
	}, nil
}

// allowLinkLocal is the owner's explicit permission (env only) to use a
// link-local or cloud metadata address as the base URL.
func allowLinkLocal(opts Options) bool {
	return opts.Env(EnvAllowLinkLocal) == "1"
}

// ResolveBaseURL resolves the owner's base URL, where `secrets set` stores
// a key and `secrets delete` removes one: --base-url, env CODEFRESH_BASE_URL,
// env SOURCES__CODEFRESH_SOURCE__BASE_URL, ~/.cfconfig url, default. Project
// files are not asked: a URL a cloned repository ships must not become the
// one a freshly typed key is stored for. It returns the URL and its source.
func ResolveBaseURL(opts Options) (baseURL, source string, err error) {
	opts = opts.withDefaults()
	opts.ProjectBaseURL = ""
	req, _, err := requestURL(opts, found{}, readCFConfig(opts))
	return req.lookup, req.lookupSource, err
}

func (o Options) withDefaults() Options {
	if o.Env == nil {
		o.Env = os.Getenv
	}
	return o
}

// normalizeBaseURL checks an http(s) URL and drops trailing slashes, so that
// one profile has one spelling (it is the keyring user). hostOnly adds the
// /api path that the Codefresh CLI's host-only URLs leave out.
func normalizeBaseURL(raw string, hostOnly bool) (string, error) {
	// Link-local addresses are checked on the URL finally chosen.
	u, err := CheckBaseURL(raw, true)
	if err != nil {
		return "", err
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if hostOnly && u.Path == "" {
		u.Path = "/api"
	}
	return u.String(), nil
}

func readEnv(opts Options, name string) found {
	r := SourceReport{Source: envSource(name), Status: StatusNotFound, Reason: "not set"}
	v := strings.TrimSpace(opts.Env(name))
	if v == "" {
		return found{report: r}
	}
	r.Status, r.Reason = StatusFound, ""
	return found{report: r, key: v}
}

func readKeyring(ctx context.Context, opts Options, baseURL string) found {
	r := SourceReport{Source: SourceKeyring}
	v, err := keyringGet(ctx, opts, baseURL)
	switch {
	case errors.Is(err, errKeyringNotFound):
		r.Status, r.Reason = StatusNotFound, fmt.Sprintf("no entry for service %s, user %s", KeyringService, baseURL)
	case err != nil:
		r.Status, r.Reason = StatusUnavailable, err.Error()
	case strings.TrimSpace(v) == "":
		r.Status, r.Reason = StatusNotFound, "entry is empty"
	default:
		r.Status, r.Reason = StatusFound, "user "+baseURL
		return found{report: r, key: strings.TrimSpace(v)}
	}
	return found{report: r}
}

// secretsFile is the part of dlt's secrets.toml this program reads.
type secretsFile struct {
	Sources struct {
		Codefresh struct {
			APIKey  string `toml:"api_key"`
			BaseURL string `toml:"base_url"`
		} `toml:"codefresh_source"`
	} `toml:"sources"`
}

func readSecretsTOML(projectDir string) found {
	r := SourceReport{Source: SourceSecretsTOML}
	if projectDir == "" {
		r.Status, r.Reason = StatusUnavailable, "no project folder"
		return found{report: r}
	}
	data, ok := readSourceFile(SecretsTOMLPath(projectDir), &r)
	if !ok {
		return found{report: r}
	}
	var f secretsFile
	if _, err := toml.Decode(string(data), &f); err != nil {
		r.Status, r.Reason = StatusUnavailable, tomlErrorReason(err)
		return found{report: r}
	}
	c := f.Sources.Codefresh
	out := found{report: r, url: strings.TrimSpace(c.BaseURL)}
	if strings.TrimSpace(c.APIKey) == "" {
		out.report.Status, out.report.Reason = StatusNotFound, "no api_key in [sources.codefresh_source]"
		return out
	}
	out.report.Status = StatusFound
	out.key = strings.TrimSpace(c.APIKey)
	if out.url != "" {
		if u, err := normalizeBaseURL(out.url, false); err == nil {
			out.url = u
		}
	}
	return out
}

// tomlErrorReason describes a TOML error by line only: parser messages can
// quote the text around the error, which may be the key.
func tomlErrorReason(err error) string {
	if line, ok := tomlErrorLine(err); ok {
		return fmt.Sprintf("not valid TOML (line %d)", line)
	}
	return "not valid TOML, or [sources.codefresh_source] api_key/base_url are not strings"
}

// tomlErrorLine is the line of a TOML syntax error, the only part of it
// that is safe to show.
func tomlErrorLine(err error) (int, bool) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.Position.Line, true
	}
	return 0, false
}

var yamlLine = regexp.MustCompile(`line \d+`)

// yamlErrorReason keeps only the line number: YAML errors quote values.
func yamlErrorReason(err error) string {
	if m := yamlLine.FindString(err.Error()); m != "" {
		return "not valid YAML (" + m + ")"
	}
	return "not valid YAML"
}

// errReason is an OS error without the path (paths are reported elsewhere).
// readSourceFile reads a key source's file; when it cannot, r says why
// (a missing file is not found, any other failure unavailable).
func readSourceFile(path string, r *SourceReport) ([]byte, bool) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		r.Status, r.Reason = StatusNotFound, "no file"
		return nil, false
	}
	if err != nil {
		r.Status, r.Reason = StatusUnavailable, "cannot read: "+errReason(err)
		return nil, false
	}
	return data, true
}

func errReason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// cfConfig is the Codefresh CLI's ~/.cfconfig (codefresh-io/cli and sdk
// ConfigManager): contexts keyed by name, each {type, name, url, token, beta,
// onPrem}, and current-context. type "APIKey" holds an API key; "JWT" a
// session token sent in another header, which is of no use here.
type cfConfig struct {
	CurrentContext string `yaml:"current-context"`
	Contexts       map[string]struct {
		Type  string `yaml:"type"`
		URL   string `yaml:"url"`
		Token string `yaml:"token"`
	} `yaml:"contexts"`
}

func cfConfigPath(opts Options) (string, error) {
	if p := opts.Env(EnvCFConfig); p != "" {
		return p, nil
	}
	home := opts.HomeDir
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = h
	}
	return filepath.Join(home, ".cfconfig"), nil
}

func readCFConfig(opts Options) found {
	r := SourceReport{Source: SourceCFConfig}
	path, err := cfConfigPath(opts)
	if err != nil {
		r.Status, r.Reason = StatusUnavailable, "no home folder: "+err.Error()
		return found{report: r}
	}
	data, ok := readSourceFile(path, &r)
	if !ok {
		return found{report: r}
	}
	var c cfConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		r.Status, r.Reason = StatusUnavailable, yamlErrorReason(err)
		return found{report: r}
	}
	if c.CurrentContext == "" {
		r.Status, r.Reason = StatusNotFound, "no current-context"
		return found{report: r}
	}
	ctx, ok := c.Contexts[c.CurrentContext]
	if !ok {
		r.Status, r.Reason = StatusNotFound, fmt.Sprintf("current-context %q is not among the contexts", c.CurrentContext)
		return found{report: r}
	}
	var out found
	if ctx.URL != "" {
		if u, err := normalizeBaseURL(ctx.URL, true); err == nil {
			out.url = u
		}
	}
	switch {
	case ctx.Type != "" && !strings.EqualFold(ctx.Type, "APIKey"):
		r.Status, r.Reason = StatusNotFound, fmt.Sprintf("context %q is of type %q, not an API key", c.CurrentContext, ctx.Type)
	case strings.TrimSpace(ctx.Token) == "":
		r.Status, r.Reason = StatusNotFound, fmt.Sprintf("context %q has no token", c.CurrentContext)
	default:
		r.Status, r.Reason = StatusFound, fmt.Sprintf("context %q", c.CurrentContext)
		out.key = strings.TrimSpace(ctx.Token)
	}
	out.report = r
	return out
}

// fileReadableByOthers reports a secrets file that group or others can read.
func fileReadableByOthers(path string) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Perm()&0o077 != 0
}
