package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// BuildLogStep is one step of a build's log: its last lines, masked and
// cut as a load keeps them, with line_count and first_line.
type BuildLogStep = extract.BuildLogStep

// LiveLogError is a build still running: its log is live, not a file yet.
type LiveLogError = extract.LiveLogError

// LiveBuildLogs reads one build's log from Codefresh now (GET only): the
// build for its progress id, the progress record, then the log file its
// signed URL names, read without the key. Lines are trimmed, cut and
// masked by the same code and the pipeline file's build_logs settings as a
// load. A build still running gives a *LiveLogError.
func (p *Project) LiveBuildLogs(ctx context.Context, buildID string) ([]BuildLogStep, error) {
	creds := p.Credentials
	if creds == nil {
		var err error
		if creds, err = secrets.Resolve(ctx, p.SecretsOptions()); err != nil {
			return nil, err
		}
	}
	co := codefresh.OptionsFor(creds)
	co.Logger, co.RatePerSecond, co.RetryBaseWait, co.HTTPClient = p.logger(), p.ratePerSecond(), p.RetryBaseWait, p.HTTPClient
	client, err := codefresh.New(co)
	if err != nil {
		return nil, err
	}
	red := secrets.NewRedactor(creds.APIKey())
	byID, _ := codefresh.Lookup("builds_by_id")
	path, err := byID.BuildPath(map[string]string{"id": buildID})
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range byID.Params {
		q.Set(k, v)
	}
	resp, err := client.GetFor(ctx, byID, path, q)
	if err != nil {
		return nil, red.Error(fmt.Errorf("read build %s: %w", buildID, err))
	}
	var build struct {
		Progress string `json:"progress"`
	}
	if err := json.Unmarshal(resp.Body, &build); err != nil || build.Progress == "" {
		return nil, &codefresh.ShapeError{Resource: byID.Name, URL: path, Expected: []string{""}, Got: "a build without a progress id"}
	}
	rc := p.Config.Resources["build_logs"]
	f := &extract.LogFetcher{Client: client, Storage: codefresh.NewStorageClient(p.HTTPClient, creds.AllowLinkLocal()), Redactor: red,
		Limits: extract.LogSettings{TailLines: rc.TailLines, LineCap: rc.LineCap}}
	steps, err := f.Fetch(ctx, build.Progress)
	if err != nil {
		return nil, red.Error(fmt.Errorf("build %s: %w", buildID, err))
	}
	return steps, nil
}
