package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// maxWait bounds load_status's wait_seconds: clients time a call out after about 60 s.
const maxWait = 50

// LoadStatusIn is load_status's input.
type LoadStatusIn struct {
	JobID       string `json:"job_id,omitempty" jsonschema_description:"The job_id start_load returned; omit to see the jobs of this session, newest first"`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema:"minimum=0,maximum=50" jsonschema_description:"Block up to this many seconds (at most 50) until the job ends; 0 answers at once"`
}

// LoadStatusOut is load_status's result: one job in full, or a list.
type LoadStatusOut struct {
	Job  *pipeline.JobStatus `json:"job,omitempty"`
	Jobs []JobSummary        `json:"jobs,omitempty"`
	Next string              `json:"next,omitempty"`
}

// JobSummary is one line of the job list.
type JobSummary struct {
	JobID    string            `json:"job_id"`
	State    trace.LoadStatus  `json:"state"`
	Progress pipeline.Progress `json:"progress"`
	Started  time.Time         `json:"started"`
	Error    string            `json:"error,omitempty"`
}

func loadStatus(d *Deps) Tool {
	return newTool(d, "load_status", "Load job status",
		"State (running, succeeded, failed, cancelled), progress (pages, rows, resource) and, once done, the load info "+
			"(rows per table, new columns, load id) or the error of a load job. Call it with wait_seconds 50: it blocks until the job "+
			"ends (or 50 s pass), so one call replaces many polls. Without job_id it lists this session's jobs.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in LoadStatusIn) (LoadStatusOut, error) {
			wait := min(max(in.WaitSeconds, 0), maxWait)
			if in.JobID == "" {
				var out LoadStatusOut
				for _, s := range d.Jobs.ListFor(d.jobOwner(ctx)) {
					out.Jobs = append(out.Jobs, JobSummary{JobID: s.ID, State: s.State, Progress: s.Progress, Started: s.Started, Error: s.Error})
				}
				if len(out.Jobs) == 0 {
					out.Next = "no load job has run in this session: start one with start_load (pipeline_info shows earlier loads)"
				} else {
					out.Next = "call load_status with a job_id for its details"
				}
				return out, nil
			}
			job, ok := d.Jobs.GetFor(d.jobOwner(ctx), in.JobID)
			if !ok {
				return LoadStatusOut{}, errorf("call load_status without job_id to list this session's jobs; jobs do not survive a server restart (pipeline_info shows committed loads)",
					"no load job %q in this session", in.JobID)
			}
			if wait > 0 && !job.Status().Done() {
				release, ok := d.Jobs.ReserveWait()
				if !ok {
					s := job.Status()
					return LoadStatusOut{Job: &s, Next: fmt.Sprintf("answered without waiting: %d load_status calls already wait on jobs, the most the server holds open; %s",
						pipeline.MaxWaiters, statusNext(s))}, nil
				}
				defer release()
				ctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second)
				defer cancel()
				reported := make(chan struct{})
				if tok := progressToken(ctx); tok != nil {
					go func() {
						defer close(reported)
						d.reportProgress(ctx, tok, job, ctx.Done())
					}()
				} else {
					close(reported)
				}
				job.Wait(ctx)
				// The last notification (the job's end) goes before the answer.
				<-reported
			}
			s := job.Status()
			return LoadStatusOut{Job: &s, Next: statusNext(s)}, nil
		})
}

func statusNext(s pipeline.JobStatus) string {
	switch s.State {
	case trace.LoadRunning:
		return "still running: call load_status again with wait_seconds 50, or cancel_load to stop it"
	case trace.LoadSucceeded:
		if s.Info != nil && s.Info.DryRun {
			return "dry run: nothing was committed; start_load without dry_run to load"
		}
		if s.Info != nil && len(s.Info.Warnings) > 0 {
			return "loaded, working around how this API differs from the catalog (load_info.warnings); see the tables with pipeline_info and describe_table, then query them"
		}
		return "loaded: see the tables with pipeline_info and describe_table, then query them"
	case trace.LoadCompletedWithErrors:
		return "completed with errors: the resources marked failed in load_info were not loaded (their reason and next_step say why), the others were committed; explain_load with this job_id shows the failing requests"
	case trace.LoadCancelled:
		return "cancelled: the database is as it was before the job"
	default:
		return "failed: nothing was committed; explain_load with this job_id shows the failing request, its cause and the next step (check_credentials for 401/403, preview_endpoint to debug one resource)"
	}
}
