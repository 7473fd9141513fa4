package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Deps is what the tool handlers share. Handlers read it, never change it.
type Deps struct {
	ProjectDir string              // absolute project folder
	BaseURL    string              // --base-url flag; empty = resolve as usual
	Env        func(string) string // nil = os.Getenv
	Logger     *slog.Logger        // nil = discard
	Jobs       *pipeline.Jobs      // load jobs of this server
	// Redactor learns every key the tools resolve and is applied to every
	// result and error text. Required.
	Redactor *secrets.Redactor
	// HTTPClient, when set, is used for Codefresh requests (tests).
	HTTPClient *http.Client
	// Handles keeps the DuckDB file open between reads; nil opens it per call.
	Handles *dataset.Handles
	// Isolation, when set, runs agent SQL on a DuckDB engine in a worker
	// process; nil runs it in this process.
	Isolation *dataset.Isolation
	// Now, when set, is the clock data freshness is judged by (tests).
	Now func() time.Time
	// Freshness, when set, keeps what answers' freshness read of the
	// dataset until a load commits; nil reads it on every call.
	Freshness *dataset.FreshnessCache
	// JobOwner, when set, names the caller of a request: load jobs are
	// seen and cancelled only by the caller that started them (HTTP
	// clients). nil: every caller is the same one (stdio).
	JobOwner func(context.Context) string
}

// jobOwner is the owner of the jobs ctx's caller starts and sees.
func (d *Deps) jobOwner(ctx context.Context) string {
	if d.JobOwner == nil {
		return ""
	}
	return d.JobOwner(ctx)
}

func (d *Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

func (d *Deps) redact(s string) string { return d.Redactor.Redact(s) }

// writing tells whether a load of this server holds the DuckDB file at path.
func (d *Deps) writing(path string) bool { return d.Handles != nil && d.Handles.Writing(path) }

// secretOptions say where to look for the key, as a load does: the flag,
// and the pipeline file's base_url as a request (see secrets.Options).
func (d *Deps) secretOptions() secrets.Options {
	o := secrets.Options{ProjectDir: d.ProjectDir, BaseURL: d.BaseURL, Env: d.Env}
	if cfg, err := pipeline.LoadConfig(d.ProjectDir); err == nil {
		o.ProjectBaseURL = cfg.BaseURL
	}
	return o
}

// credentials resolves the API key the usual way and teaches it to the redactor.
func (d *Deps) credentials(ctx context.Context) (*secrets.Credentials, error) {
	creds, err := secrets.Resolve(ctx, d.secretOptions())
	if err != nil {
		var nk *secrets.NoKeyError
		if errors.As(err, &nk) {
			return nil, withNext(err, "ask the user to run `codefresh-mcp secrets set` in a terminal (the key must never pass through the chat), then call check_credentials")
		}
		return nil, fmt.Errorf("resolve Codefresh credentials: %w", err) // nextStep advises on *secrets.UntrustedURLError
	}
	d.Redactor.Add(creds.APIKey())
	return creds, nil
}

// project opens the project's pipeline file; withCreds also resolves the key
// so that a load fails here, with advice, rather than later in a job.
func (d *Deps) project(ctx context.Context, withCreds bool) (*pipeline.Project, error) {
	p, err := pipeline.OpenProject(d.ProjectDir)
	if err != nil {
		return nil, withNext(err, "fix the pipeline file with configure_pipeline (or by hand): "+pipeline.ConfigFile)
	}
	p.OwnerBaseURL, p.Env, p.Logger, p.HTTPClient, p.Handles = d.BaseURL, d.Env, d.Logger, d.HTTPClient, d.Handles
	if withCreds {
		creds, err := d.credentials(ctx)
		if err != nil {
			return nil, err
		}
		p.Credentials = creds
	}
	return p, nil
}

// reader opens the project's loaded dataset for reading, on whichever
// destination the pipeline file names.
func (d *Deps) reader(ctx context.Context) (dataset.Reader, *pipeline.Config, error) {
	p, err := d.project(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := p.Reader(ctx)
	if err != nil {
		return nil, nil, err
	}
	return r, &p.Config, nil
}
