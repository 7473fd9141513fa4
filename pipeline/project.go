package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// DefaultConcurrency is how many requests a load runs at once (date windows
// of builds, detail records); the client's rate limiter still paces them.
const DefaultConcurrency = 4

// Project is a project folder: its pipeline file, its data and how to reach Codefresh.
type Project struct {
	Dir    string // absolute project folder
	Config Config // the pipeline file as written (defaults not filled in)
	// OwnerBaseURL is the owner's URL (--base-url of load or serve): it wins
	// over every other source; the pipeline file's base_url is only a request.
	OwnerBaseURL string
	Env          func(string) string // nil = os.Getenv
	Logger       *slog.Logger        // nil = discard
	// Credentials, when set, are used instead of resolving them (demo, tests).
	Credentials *secrets.Credentials
	// Tuning; zero values take the defaults.
	Concurrency   int
	RatePerSecond float64
	RetryBaseWait time.Duration // first backoff step of the HTTP client
	LockWait      time.Duration // how long to wait for another process's lock on the destination (0: the kind's default)
	HTTPClient    *http.Client
	// Handles, when set, keeps the DuckDB file open between reads (a server's).
	Handles *dataset.Handles

	fs        *projectfs.Root                  // the project folder, confined (nil: opened per use)
	freeSpace func(dir string) projectfs.Space // nil = projectfs.FreeSpace; tests fake a full disk
}

// OpenProject reads the project's pipeline file (absent = defaults) and validates it.
func OpenProject(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("project folder: %w", err)
	}
	cfg, err := LoadConfig(abs)
	if err != nil {
		return nil, err
	}
	root, err := projectfs.Open(abs)
	if err != nil {
		return nil, err
	}
	return &Project{Dir: abs, Config: cfg, fs: root}, nil
}

// SecretsOptions say where to look for the key and its URL. The pipeline
// file's base_url is only a request (secrets.Options.ProjectBaseURL): an
// agent or a cloned repository may have written it.
func (p *Project) SecretsOptions() secrets.Options {
	return secrets.Options{ProjectDir: p.Dir, BaseURL: p.OwnerBaseURL, ProjectBaseURL: p.Config.BaseURL, Env: p.Env}
}

// DatabaseKey identifies the destination a load writes to; one load at a time per key.
func (p *Project) DatabaseKey() string {
	return p.Config.DestinationType() + ":" + p.DestinationLocation()
}

// DestinationLocation is where the data goes: a file, a folder or a DSN without password.
func (p *Project) DestinationLocation() string {
	kind := p.Config.DestinationType()
	drv, ok := destinations.Lookup(kind)
	if !ok || drv.Local {
		return p.Config.DestinationPath(p.Dir)
	}
	loc, err := drv.Location(p.destinationConfig())
	if err != nil {
		return kind + " (" + err.Error() + ")"
	}
	return loc
}

// CheckDestination finds, before a load extracts anything, a local
// destination path its commit could not write: a file where the kind
// needs a folder or the reverse, or a file whose folder is missing.
func (p *Project) CheckDestination() error {
	drv, ok := destinations.Lookup(p.Config.DestinationType())
	if !ok || !drv.Local {
		return nil
	}
	path := p.Config.DestinationPath(p.Dir)
	rel, err := filepath.Rel(p.Dir, path)
	if err != nil {
		rel = path
	}
	refuse := func(msg string) error {
		return &ConfigError{File: ConfigFile, Key: "destination.path", path: []string{"destination", "path"}, Msg: fmt.Sprintf("%q: %s", filepath.ToSlash(rel), msg)}
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir() != drv.Path.Folder:
		return refuse(drv.Path.WrongShape)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return refuse(err.Error())
	case !drv.Path.Folder:
		if dst, derr := os.Stat(filepath.Dir(path)); derr != nil || !dst.IsDir() {
			return refuse(fmt.Sprintf("the folder %s does not exist in the project: create it or choose another path", filepath.ToSlash(filepath.Dir(rel))))
		}
	}
	return nil
}

// Destination opens the configured destination.
func (p *Project) Destination() (destination.Destination, error) {
	t := p.Config.DestinationType()
	drv, ok := destinations.Lookup(t)
	if !ok {
		return nil, fmt.Errorf("destination %q is not available yet", t)
	}
	c, err := p.openConfig(drv)
	if err != nil {
		return nil, err
	}
	return drv.Open(c)
}

// DestinationRefusedError refuses a DuckDB file or Parquet folder that is
// not inside the project, or is reached through a symbolic link: DuckDB
// opens it by path, beyond the project's confined root, so a planted link
// would send the writes (and the reads) elsewhere.
type DestinationRefusedError struct {
	Path   string // the destination as configured, absolute
	Reason string
}

func (e *DestinationRefusedError) Error() string {
	return fmt.Sprintf("destination %s refused: %s; the DuckDB file and the Parquet folder must be real files inside the project folder", e.Path, e.Reason)
}

// destinationPath is cfg's DuckDB file or Parquet folder once checked: inside
// the project, and neither it, a folder on its way nor DuckDB's files beside
// it (write-ahead log, temporary folder) a symbolic link.
func (p *Project) destinationPath(cfg Config) (string, error) {
	path := cfg.DestinationPath(p.Dir)
	rel, err := filepath.Rel(p.Dir, path)
	if err != nil || !filepath.IsLocal(rel) {
		return "", &DestinationRefusedError{Path: path, Reason: "it is outside the project folder " + p.Dir}
	}
	root, err := p.files()
	if err != nil {
		return "", err
	}
	check := func(name string) error { return root.CheckNoLinks(name) }
	if depth := localDriver(cfg.DestinationType()).Path.LinkDepth; depth > 0 {
		check = func(name string) error { return root.CheckTreeNoLinks(name, depth) }
	}
	for _, name := range []string{rel, rel + ".wal", rel + ".tmp"} {
		var le *projectfs.LinkError
		if err := check(name); errors.As(err, &le) {
			return "", &DestinationRefusedError{Path: path, Reason: fmt.Sprintf("%s is a symbolic link (to %s)", le.Path, le.Target)}
		} else if err != nil {
			return "", err
		}
	}
	return path, nil
}

func (p *Project) concurrency() int {
	if p.Concurrency > 0 {
		return p.Concurrency
	}
	if p.Config.Concurrency > 0 {
		return p.Config.Concurrency
	}
	return DefaultConcurrency
}

func (p *Project) ratePerSecond() float64 {
	if p.RatePerSecond != 0 {
		return p.RatePerSecond
	}
	return p.Config.RequestsPerSecond // 0: the client's default
}
