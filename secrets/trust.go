package secrets

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// The trust file lives in the user's configuration folder, outside every
// project: nothing an agent or a cloned repository writes in the project
// can let a key go to another origin.
const trustFileName = "trusted-origins.json"

// trustEntry lets the key with Fingerprint go to Origin for loads of Project.
type trustEntry struct {
	Project     string    `json:"project"`
	Fingerprint string    `json:"fingerprint"`
	Origin      string    `json:"origin"`
	Added       time.Time `json:"added"`
}

type trustFile struct {
	Trusted []trustEntry `json:"trusted"`
}

// TrustPath is the trust file: Options.ConfigDir, else the user's
// configuration folder (os.UserConfigDir)/codefresh-mcp.
func TrustPath(opts Options) (string, error) {
	dir, err := configDir(opts)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, trustFileName), nil
}

// projectKey is the project folder as trust entries name it: absolute,
// links resolved, so that two spellings of one folder share their trust.
func projectKey(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return filepath.Clean(dir)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

func readTrust(path string) (trustFile, error) {
	var tf trustFile
	return tf, readConfigJSON(path, &tf)
}

// findTrust returns the entry letting the key go to origin for the
// project, or nil. An unreadable trust file is an error: trust fails closed.
func findTrust(opts Options, fingerprint, origin string) (*trustEntry, error) {
	if opts.ProjectDir == "" || fingerprint == "" {
		return nil, nil
	}
	path, err := TrustPath(opts)
	if err != nil {
		return nil, err
	}
	tf, err := readTrust(path)
	if err != nil {
		return nil, err
	}
	project := projectKey(opts.ProjectDir)
	for _, t := range tf.Trusted {
		if t.Project == project && t.Fingerprint == fingerprint && t.Origin == origin {
			return &t, nil
		}
	}
	return nil, nil
}

// TrustResult says what Trust or Untrust did; never the key.
type TrustResult struct {
	URL         string `json:"url"`
	Origin      string `json:"origin"`
	Project     string `json:"project"`
	KeySource   string `json:"key_source,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	KeyURL      string `json:"key_url,omitempty"` // where the key belongs
	Path        string `json:"path"`              // the trust file
	// AlreadyAllowed, when not empty, says why nothing had to be recorded.
	AlreadyAllowed string `json:"already_allowed,omitempty"`
	Removed        int    `json:"removed,omitempty"` // Untrust: entries removed
}

// Trust records that the key a load of this project would use may be sent
// to rawURL's origin although a project file, not its owner, names it. Only
// the CLI calls it, on the user's word: no tool can. confirm sees what
// would be recorded and can refuse it (an error) before anything is written.
func Trust(ctx context.Context, opts Options, rawURL string, confirm func(*TrustResult) error) (*TrustResult, error) {
	opts = opts.withDefaults()
	res, u, err := trustTarget(opts, rawURL)
	if err != nil {
		return nil, err
	}
	opts.BaseURL, opts.ProjectBaseURL = "", u
	creds, err := Resolve(ctx, opts)
	var ue *UntrustedURLError
	switch {
	case errors.As(err, &ue):
		res.KeySource, res.Fingerprint, res.KeyURL = ue.KeySource, ue.Fingerprint, ue.KeyURL
	case err != nil:
		return nil, err
	case creds.BaseURLSource != SourcePipelineFile:
		return nil, fmt.Errorf("nothing to trust: %s sets the base URL for every key (%s), so a project file's base_url is not used",
			creds.BaseURLSource, creds.BaseURL)
	default:
		res.KeySource, res.Fingerprint, res.AlreadyAllowed = creds.Source, creds.Fingerprint, creds.BaseURLReason
		return res, nil
	}
	if err := confirm(res); err != nil {
		return nil, err
	}
	err = editTrust(res.Path, func(tf *trustFile) {
		tf.Trusted = append(tf.Trusted, trustEntry{Project: res.Project, Fingerprint: res.Fingerprint, Origin: res.Origin, Added: time.Now().UTC()})
	})
	return res, err
}

// Untrust removes every trust entry of rawURL's origin for this project,
// whatever the key.
func Untrust(opts Options, rawURL string) (*TrustResult, error) {
	res, _, err := trustTarget(opts.withDefaults(), rawURL)
	if err != nil {
		return nil, err
	}
	err = editTrust(res.Path, func(tf *trustFile) {
		tf.Trusted = slices.DeleteFunc(tf.Trusted, func(t trustEntry) bool {
			if t.Project == res.Project && t.Origin == res.Origin {
				res.Removed++
				return true
			}
			return false
		})
	})
	return res, err
}

// trustTarget checks the URL and names the project and the trust file.
func trustTarget(opts Options, rawURL string) (*TrustResult, string, error) {
	if opts.ProjectDir == "" {
		return nil, "", errors.New("no project folder: trust is recorded per project")
	}
	u, err := normalizeBaseURL(rawURL, false)
	if err != nil {
		return nil, "", err
	}
	if _, err := CheckBaseURL(u, allowLinkLocal(opts)); err != nil {
		return nil, "", err
	}
	path, err := TrustPath(opts)
	if err != nil {
		return nil, "", err
	}
	return &TrustResult{URL: u, Origin: OriginOf(u), Project: projectKey(opts.ProjectDir), Path: path}, u, nil
}

// editTrust rewrites the trust file (mode 0600, folder 0700) with edit applied.
func editTrust(path string, edit func(*trustFile)) error {
	tf, err := readTrust(path)
	if err != nil {
		return err
	}
	edit(&tf)
	return writeConfigJSON(path, tf)
}
