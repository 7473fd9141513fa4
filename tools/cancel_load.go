package tools

import (
	"context"
	"errors"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// cancelWait is how long cancel_load waits for the job to stop.
const cancelWait = 20 * time.Second

// CancelLoadIn is cancel_load's input.
type CancelLoadIn struct {
	JobID string `json:"job_id" jsonschema_description:"The job_id start_load returned"`
}

// CancelLoadOut is cancel_load's result.
type CancelLoadOut struct {
	Job  pipeline.JobStatus `json:"job"`
	Next string             `json:"next"`
}

func cancelLoad(d *Deps) Tool {
	return newTool(d, "cancel_load", "Cancel a load job",
		"Stop a running load job and wait for it to stop. A cancelled load commits nothing: the database stays as it was. "+
			"A job that already ended is left as it is.",
		Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in CancelLoadIn) (CancelLoadOut, error) {
			if in.JobID == "" {
				return CancelLoadOut{}, errorf("pass the job_id start_load returned (load_status without arguments lists jobs)", "job_id is required")
			}
			s, err := d.Jobs.CancelFor(d.jobOwner(ctx), in.JobID, cancelWait)
			if errors.Is(err, pipeline.ErrNoJob) {
				return CancelLoadOut{}, withNext(err, "call load_status without job_id to list this session's jobs")
			}
			if err != nil {
				return CancelLoadOut{}, err
			}
			next := statusNext(s)
			if s.State == trace.LoadRunning {
				next = "the job is still stopping: call load_status with wait_seconds 50"
			}
			return CancelLoadOut{Job: s, Next: next}, nil
		})
}
