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
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// DefaultConcurrency is how many requests a load runs at once (date windows
// of builds, detail records); the client's rate limiter still paces them.
const DefaultConcurrency = 4

// Project is a project folder: its pipeline file, its data and how to reach Codefresh.
type Project struct {
	Dir         string              // absolute project folder
	Config      Config              // the pipeline file as written (defaults not filled in)
	BaseURLFlag string              // --base-url: the owner's URL, wins over every other source
	Env         func(string) string // nil = os.Getenv
	Logger      *slog.Logger        // nil = discard
	// Credentials, when set, are used instead of resolving them (demo, tests).
	Credentials *secrets.Credentials
	// Tuning; zero values take the defaults.
	Concurrency   int
	RatePerSecond float64
	RetryBaseWait time.Duration // first backoff step of the HTTP client
	LockWait      time.Duration // how long to wait for a DuckDB file another process holds
	HTTPClient    *http.Client
	// Handles, when set, keeps the DuckDB file open between reads (a server's).
	Handles *dataset.Handles
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
	return &Project{Dir: abs, Config: cfg}, nil
}

// SecretsOptions say where to look for the key and its URL. The pipeline
// file's base_url is only a request (secrets.Options.ProjectBaseURL): an
// agent or a cloned repository may have written it.
func (p *Project) SecretsOptions() secrets.Options {
	return secrets.Options{ProjectDir: p.Dir, BaseURL: p.BaseURLFlag, ProjectBaseURL: p.Config.BaseURL, Env: p.Env}
}

// DatabaseKey identifies the destination a load writes to; one load at a time per key.
func (p *Project) DatabaseKey() string {
	return p.Config.DestinationType() + ":" + p.DestinationLocation()
}

// DestinationLocation is where the data goes: a file, a folder or a DSN without password.
func (p *Project) DestinationLocation() string {
	if p.Config.DestinationType() == "postgres" {
		loc, err := p.PostgresLocation()
		if err != nil {
			return "postgres (" + err.Error() + ")"
		}
		return loc
	}
	return p.Config.DestinationPath(p.Dir)
}

// CheckDestination finds, before a load extracts anything, a destination
// path its commit could not write: a DuckDB file whose folder is missing or
// that is a folder, a Parquet folder that is a file.
func (p *Project) CheckDestination() error {
	kind := p.Config.DestinationType()
	if kind == "postgres" {
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
	case err == nil && kind == "duckdb" && st.IsDir():
		return refuse("is a folder; DuckDB needs a file name such as codefresh.duckdb")
	case err == nil && kind == "parquet" && !st.IsDir():
		return refuse("is a file; Parquet needs a folder")
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return refuse(err.Error())
	case kind == "duckdb":
		if dst, derr := os.Stat(filepath.Dir(path)); derr != nil || !dst.IsDir() {
			return refuse(fmt.Sprintf("the folder %s does not exist in the project: create it or choose another path", filepath.ToSlash(filepath.Dir(rel))))
		}
	}
	return nil
}

// Destination opens the configured destination.
func (p *Project) Destination() (destination.Destination, error) {
	switch t := p.Config.DestinationType(); t {
	case "duckdb":
		return duckdb.New(p.Config.DestinationPath(p.Dir), duckdb.Options{Dataset: p.Config.Dataset(), LockWait: p.LockWait, Logger: p.logger()}), nil
	case "postgres":
		return postgres.New(postgres.Options{Dataset: p.Config.Dataset(), Credentials: p.postgresCredentials(), Logger: p.logger()}), nil
	case "parquet":
		return parquet.New(p.Config.DestinationPath(p.Dir), parquet.Options{Dataset: p.Config.Dataset(), Logger: p.logger()}), nil
	default:
		return nil, fmt.Errorf("destination %q is not available yet", t)
	}
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
