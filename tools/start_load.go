package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// StartLoadIn is start_load's input.
type StartLoadIn struct {
	Resources   []string `json:"resources,omitempty" jsonschema_description:"Resources to load (catalog names such as pipelines or builds); omit to load every resource enabled in the pipeline file"`
	MaxPages    int      `json:"max_pages,omitempty" jsonschema:"minimum=0" jsonschema_description:"Pages per resource at most (0 = all); a small number makes a quick debug run"`
	FullRefresh bool     `json:"full_refresh,omitempty" jsonschema_description:"Ignore incremental state and reload everything"`
	DryRun      bool     `json:"dry_run,omitempty" jsonschema_description:"Extract and normalize but commit nothing: checks access and shows the tables a load would write"`
	Record      bool     `json:"record,omitempty" jsonschema_description:"Keep a sanitized debug record of every HTTP exchange in the project (no key or header value) to replay the load offline; a failed load keeps one anyway"`
}

// StartLoadOut is start_load's result.
type StartLoadOut struct {
	JobID   string             `json:"job_id"`
	State   trace.LoadStatus   `json:"state"`
	Project string             `json:"project"`
	Options pipeline.JobOpts   `json:"options"`
	Next    string             `json:"next"`
	Running *pipeline.Progress `json:"progress,omitempty"`
}

// progressEvery is how often a running job's progress is checked for MCP progress notifications.
const progressEvery = 500 * time.Millisecond

func startLoad(d *Deps) Tool {
	return newTool(d, "start_load", "Start a load job",
		"Start loading Codefresh data into the project's database as a background job and return its job_id at once. "+
			"Watch it with load_status (wait_seconds blocks until it ends) and stop it with cancel_load. "+
			"One load runs at a time per database. Use dry_run or max_pages for a quick debug run.",
		Hints{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: true},
		func(ctx context.Context, in StartLoadIn) (StartLoadOut, error) {
			if in.MaxPages < 0 {
				return StartLoadOut{}, errorf("use 0 for all pages or a small number such as 2 for a quick run", "max_pages must not be negative")
			}
			p, err := d.project(ctx, true)
			if err != nil {
				return StartLoadOut{}, err
			}
			opts := pipeline.Options{
				Resources:   in.Resources,
				MaxPages:    in.MaxPages,
				FullRefresh: in.FullRefresh,
				DryRun:      in.DryRun,
			}
			if in.Record {
				if opts.Record, err = p.NewRecordPath(); err != nil {
					return StartLoadOut{}, err
				}
			}
			// A login that cannot write is refused now, not mid-commit.
			if err := p.CheckWritable(ctx, opts); err != nil {
				return StartLoadOut{}, err
			}
			job, err := d.Jobs.StartFor(d.jobOwner(ctx), p, opts)
			if err != nil {
				return StartLoadOut{}, fmt.Errorf("start load: %w", err)
			}
			// No progress notifications here: a token lives only as long as
			// its request, and this one ends now. load_status with
			// wait_seconds reports progress while it waits.
			s := job.Status()
			return StartLoadOut{
				JobID:   s.ID,
				State:   s.State,
				Project: s.Project,
				Options: s.Options,
				Next:    fmt.Sprintf("call load_status with job_id %q and wait_seconds 50 until state is succeeded, completed_with_errors, failed or cancelled", s.ID),
			}, nil
		})
}

// reportProgress sends MCP progress notifications (pages and rows) for job
// until it ends or until is closed. The caller waits for it to return before
// answering: a notification must not outlive its request. They are a
// courtesy for clients that show progress; every fact is also in load_status.
func (d *Deps) reportProgress(ctx context.Context, token mcp.ProgressToken, job *pipeline.Job, until <-chan struct{}) {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var last pipeline.Progress
	sent := -1.0
	send := func(s pipeline.JobStatus) {
		p := s.Progress
		// The progress value must grow with every notification: rows plus
		// pages grows whenever either does.
		value := float64(p.Rows + int64(p.Pages))
		if value <= sent {
			if !s.Done() {
				return
			}
			value = sent + 1
		}
		sent = value
		params := map[string]any{
			"progressToken": token,
			"progress":      value,
			"message":       d.redact(fmt.Sprintf("%s %s: %s, %d pages, %d rows", s.ID, s.State, phaseText(p), p.Pages, p.Rows)),
		}
		if s.Done() {
			params["total"] = value
		}
		if err := srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params); err != nil {
			d.logger().Debug("progress notification not sent", "job", s.ID, "error", err)
		}
	}
	for {
		select {
		case <-job.Done():
			send(job.Status())
			return
		case <-until:
			return
		case <-tick.C:
			if s := job.Status(); s.Progress != last {
				last = s.Progress
				send(s)
			}
		}
	}
}

func phaseText(p pipeline.Progress) string {
	if p.Resource != "" {
		return string(p.Phase) + " " + p.Resource
	}
	return string(p.Phase)
}
