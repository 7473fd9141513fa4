package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// ExplainLoadIn is explain_load's input.
type ExplainLoadIn struct {
	JobID   string `json:"job_id,omitempty" jsonschema_description:"A job_id from start_load; omit (with load_id) for the project's last load"`
	LoadID  string `json:"load_id,omitempty" jsonschema_description:"A load id (from pipeline_info or a trace); omit for the last load"`
	Verbose bool   `json:"verbose,omitempty" jsonschema_description:"Also list sampled requests per resource (the first 3 and up to 20 failed attempts each); larger"`
}

// ExplainLoadOut is explain_load's result.
type ExplainLoadOut struct {
	Trace    *trace.Trace      `json:"trace"`
	Problems []*trace.Resource `json:"problems,omitempty"` // failed or skipped resources, with cause and next step
	Next     string            `json:"next"`
	// Truncated says the trace passed explainMaxBytes and parts were left
	// out; Hint says which and where the whole trace is.
	Truncated bool   `json:"truncated,omitempty"`
	Hint      string `json:"hint,omitempty"`
}

// explainMaxBytes bounds explain_load's JSON, as queryMaxBytes bounds
// query's; explainMaxText bounds each message in it (a trace written by an
// older version may hold megabytes of one).
const (
	explainMaxBytes = 48 << 10
	explainMaxText  = 1 << 10
)

func explainLoad(d *Deps) Tool {
	return newTool(d, "explain_load", "Explain a load",
		"The trace of a load (the last one by default, or a job's or a load id's, failed ones included): its outcome, per resource "+
			"the HTTP requests made (method, path, query; never a header), statuses, retries and why, pages, rows, the workarounds "+
			"taken where the API differed from the catalog (warnings), and each error with its cause (auth, scope, not_found, rate_limit, "+
			"server, network, shape, paging, destination, lock) and the next step. The last 20 loads are kept. "+
			"A failed load also names its debug record (a sanitized file of its HTTP exchanges that `codefresh-mcp load --replay FILE` replays offline).",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in ExplainLoadIn) (ExplainLoadOut, error) {
			loadID := in.LoadID
			if in.JobID != "" {
				j, ok := d.Jobs.GetFor(d.jobOwner(ctx), in.JobID)
				if !ok {
					return ExplainLoadOut{}, withNext(fmt.Errorf("%w %q", pipeline.ErrNoJob, in.JobID), "omit job_id for the last load, or call load_status without job_id to list jobs")
				}
				s := j.Status()
				switch {
				case s.State == trace.LoadRunning:
					return ExplainLoadOut{}, errorf("call load_status with wait_seconds 50 until it ends, then explain_load", "job %s is still running: its trace is written when it ends", in.JobID)
				case s.Info != nil:
					loadID = s.Info.LoadID
				case s.LoadID != "":
					loadID = s.LoadID
				default:
					return ExplainLoadOut{}, errorf("fix what load_status's error says and start_load again", "job %s ended before a load began: %s", in.JobID, s.Error)
				}
			}
			p, err := d.project(ctx, false)
			if err != nil {
				return ExplainLoadOut{}, err
			}
			t, err := p.Trace(loadID)
			if ute := (*trace.UnreadableError)(nil); errors.As(err, &ute) {
				return ExplainLoadOut{}, err // its own next step: the load before it
			}
			if err != nil {
				return ExplainLoadOut{}, withNext(err, "start_load runs a load; its trace is kept")
			}
			out := ExplainLoadOut{Trace: t, Problems: t.Problems()}
			if !in.Verbose {
				out.Trace = t.Compact()
				out.Problems = out.Trace.Problems()
			}
			out.Trace.Resources = notable(out.Trace.Resources)
			out.Next = traceNext(t)
			fitExplain(&out)
			return out, nil
		})
}

// notable drops resources the load never reached and that made no request.
func notable(rs []*trace.Resource) []*trace.Resource {
	var out []*trace.Resource
	for _, r := range rs {
		if r.Requests > 0 || r.Status != trace.StatusNotReached {
			out = append(out, r)
		}
	}
	return out
}

func traceNext(t *trace.Trace) string {
	switch {
	case t.Error != nil:
		return "the load failed and committed nothing: " + t.Error.NextStep
	case t.Status == trace.LoadCompletedWithErrors:
		return "some resources failed (see problems and their next_step); the others were committed: query them, and start_load with the failed resources once fixed"
	case len(t.Warnings) > 0:
		return "loaded, working around how this API differs from the catalog (warnings): the data is complete; query it"
	case t.Status == trace.LoadSucceeded:
		return "loaded: pipeline_info, describe_table, then query"
	}
	return "start_load to load again"
}

// fitExplain shrinks out until its JSON fits explainMaxBytes, giving up
// first what says least: message tails, then sampled requests, then the
// resources without problems (problems lists those with), then the last
// problems. Hint names what went and where the whole trace is.
func fitExplain(out *ExplainLoadOut) {
	steps := []struct {
		note  string
		apply func(*ExplainLoadOut) bool
	}{
		{fmt.Sprintf("messages cut to %d bytes", explainMaxText), cutMessages},
		{"sampled requests left out (verbose)", dropSamples},
		{"resources without problems left out of trace.resources", keepProblemResources},
	}
	var notes []string
	for _, st := range steps {
		if explainSize(out) <= explainMaxBytes {
			break
		}
		if st.apply(out) {
			notes = append(notes, st.note)
		}
	}
	if n := len(out.Problems); explainSize(out) > explainMaxBytes && n > 1 {
		for len(out.Problems) > 1 && explainSize(out) > explainMaxBytes {
			out.Problems = out.Problems[:len(out.Problems)-1]
			out.Trace.Resources = out.Problems
		}
		notes = append(notes, fmt.Sprintf("only the first %d of %d problems are shown", len(out.Problems), n))
	}
	if len(notes) == 0 {
		return
	}
	out.Truncated = true
	out.Hint = fmt.Sprintf("the trace passed the %d KiB output cap: %s; the whole trace is the file %s in the project folder",
		explainMaxBytes>>10, strings.Join(notes, "; "), pipeline.TraceFile(out.Trace.LoadID))
}

func explainSize(out *ExplainLoadOut) int {
	b, err := json.Marshal(out)
	if err != nil {
		return 0
	}
	return len(b)
}

// dropSamples is the compact trace; the problems are its resources.
func dropSamples(out *ExplainLoadOut) bool {
	dropped := false
	for _, r := range out.Trace.Resources {
		dropped = dropped || len(r.Sample) > 0
	}
	if !dropped {
		return false
	}
	out.Trace = out.Trace.Compact()
	out.Problems = out.Trace.Problems()
	return true
}

// cutMessages cuts every message and request error to explainMaxText.
func cutMessages(out *ExplainLoadOut) bool {
	cut := false
	text := func(s *string) {
		if len(*s) > explainMaxText {
			*s, cut = codefresh.CutText(*s, explainMaxText), true
		}
	}
	traceErr := func(e *trace.Error) {
		if e == nil {
			return
		}
		text(&e.Message)
		if e.Request != nil {
			text(&e.Request.Error)
		}
	}
	traceErr(out.Trace.Error)
	for _, r := range out.Trace.Resources {
		traceErr(r.Error)
		for i := range r.Sample {
			text(&r.Sample[i].Error)
		}
	}
	return cut
}

// keepProblemResources leaves in trace.resources only those problems lists.
func keepProblemResources(out *ExplainLoadOut) bool {
	if len(out.Trace.Resources) == len(out.Problems) {
		return false
	}
	out.Trace.Resources = out.Problems
	return true
}
