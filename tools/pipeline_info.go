package tools

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// PipelineInfoIn is pipeline_info's input.
type PipelineInfoIn struct {
	Loads           int  `json:"loads,omitempty" jsonschema:"minimum=0,maximum=50,default=5" jsonschema_description:"How many of the last loads to list (default 5; at most 50)"`
	SystemTables    bool `json:"system_tables,omitempty" jsonschema_description:"Also list dlt's bookkeeping tables (_dlt_loads and the like)"`
	StaleAfterHours int  `json:"stale_after_hours,omitempty" jsonschema:"minimum=0,maximum=8760" jsonschema_description:"Warn when a table is older than this many hours (default: the pipeline file's freshness_warning, else 24; at most 8760)"`
}

// PipelineInfoOut is pipeline_info's result.
type PipelineInfoOut struct {
	Pipeline    string                   `json:"pipeline"`
	Destination string                   `json:"destination"`
	Location    string                   `json:"location"`
	Dataset     string                   `json:"dataset"`
	Enabled     []string                 `json:"enabled_resources"`
	Tables      []TableOverview          `json:"tables"`
	Views       []dataset.ViewSummary    `json:"ci_views,omitempty"` // one row per build, step, pipeline-day: what ci_metrics reads
	Loads       []dataset.Load           `json:"last_loads"`
	Cursors     map[string]CursorSummary `json:"incremental_cursors,omitempty"`
	RunningJob  *JobSummary              `json:"running_job,omitempty"`
	LastError   string                   `json:"last_error,omitempty"`
	LastLoad    *LastLoadSummary         `json:"last_load,omitempty"` // from the project's load trace
	Dashboard   string                   `json:"dashboard"`           // the running dashboard's URL, else the command that starts one
	Next        string                   `json:"next"`
}

// TableOverview is one table with how current its data is: as_of is the
// end of the newest load that wrote it (a child table's root's), warning
// says when it is stale or never loaded.
type TableOverview struct {
	dataset.TableSummary
	AsOf    *time.Time `json:"as_of,omitempty"`
	Age     string     `json:"age,omitempty"`
	Warning string     `json:"warning,omitempty"`
}

// LastLoadSummary is the outcome of the project's last load, from its trace.
type LastLoadSummary struct {
	LoadID   string                `json:"load_id"`
	Status   trace.LoadStatus      `json:"status"`
	Started  string                `json:"started"`
	Failed   []string              `json:"failed_resources,omitempty"`
	Warnings []codefresh.Deviation `json:"warnings,omitempty"`
	Record   string                `json:"debug_record,omitempty"`
	Next     string                `json:"next"`
}

// CursorSummary is one incremental cursor.
type CursorSummary struct {
	LastValue  string `json:"last_value,omitempty"`
	Initial    string `json:"initial_value,omitempty"`
	PendingIDs int    `json:"pending_ids,omitempty"` // records not final yet (running builds), fetched again next load
}

func pipelineInfo(d *Deps) Tool {
	return newTool(d, "pipeline_info", "Pipeline and dataset overview",
		"Overview of the project's pipeline and its data: destination and file, dataset, resources a load reads, "+
			"tables with row counts and as_of (end of the load that wrote them; warning when stale or never loaded), the last loads (from _dlt_loads), incremental cursors, a running job and the last error. "+
			"Start here to see what is loaded.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in PipelineInfoIn) (PipelineInfoOut, error) {
			nLoads := in.Loads
			if nLoads <= 0 {
				nLoads = 5
			}
			r, cfg, err := d.reader(ctx)
			if err != nil {
				return PipelineInfoOut{}, err
			}
			defer r.Close()
			out := PipelineInfoOut{
				Pipeline:    cfg.Pipeline(),
				Destination: cfg.DestinationType(),
				Location:    cfg.DestinationPath(d.ProjectDir),
				Dataset:     cfg.Dataset(),
				Enabled:     cfg.EnabledResources(),
				Tables:      []TableOverview{},
				Loads:       []dataset.Load{},
			}
			d.addJobs(ctx, &out, cfg)
			out.LastLoad = lastLoad(d.ProjectDir, cfg)
			out.Dashboard = "run `codefresh-mcp show` in a terminal for a dashboard in the browser"
			if db, ok := (&pipeline.Project{Dir: d.ProjectDir, Config: *cfg}).RunningDashboard(); ok {
				out.Dashboard = db.URL
			}
			info, err := r.Info(ctx)
			if errors.Is(err, dataset.ErrNoData) {
				out.Next = "nothing loaded yet: start_load (try dry_run first), or preview_endpoint to look at one resource"
				return out, nil
			}
			if err != nil {
				return PipelineInfoOut{}, err
			}
			if info.Location != "" {
				out.Location = info.Location // the file read, or a server's DSN without password
			}
			var names []string
			for _, t := range info.Tables {
				if !t.System {
					names = append(names, t.Name)
				}
			}
			fr, freshNext := d.freshness(ctx, r, cfg, names, in.StaleAfterHours, info)
			for _, t := range info.Tables {
				if t.System && !in.SystemTables {
					continue
				}
				ov := TableOverview{TableSummary: t}
				for _, f := range fr {
					if f.Table == t.Name {
						ov.AsOf, ov.Age, ov.Warning = f.AsOf, f.Age, f.Warning
					}
				}
				out.Tables = append(out.Tables, ov)
			}
			out.Views = info.Views
			out.Loads = info.Loads[:min(nLoads, len(info.Loads))]
			for _, ps := range info.PipelineStates {
				if ps.PipelineName == cfg.Pipeline() {
					out.Cursors = cursors(ps.State)
				}
			}
			out.Next = "ci_metrics answers rates, durations, MTTR and flaky questions and explain_build why a build failed, without SQL; " +
				"else describe_table for columns and joins, then query with SQL (tables live in schema " + cfg.Dataset() + ")"
			if freshNext != "" {
				out.Next = freshNext + "; " + out.Next
			}
			return out, nil
		})
}

// addJobs reports this session's running job and last failure on the project's database.
func (d *Deps) addJobs(ctx context.Context, out *PipelineInfoOut, cfg *pipeline.Config) {
	owner := d.jobOwner(ctx)
	key := (&pipeline.Project{Dir: d.ProjectDir, Config: *cfg}).DatabaseKey()
	if j, ok := d.Jobs.RunningFor(owner, key); ok {
		s := j.Status()
		out.RunningJob = &JobSummary{JobID: s.ID, State: s.State, Progress: s.Progress, Started: s.Started}
	}
	for _, s := range d.Jobs.ListFor(owner) {
		if s.State == trace.LoadFailed || s.State == trace.LoadCompletedWithErrors {
			out.LastError = s.ID + ": " + s.Error
			if s.Error == "" && s.Info != nil {
				out.LastError = s.ID + ": completed with errors (explain_load)"
			}
			break
		}
	}
}

// lastLoad summarizes the project's latest load trace (nil: none yet).
func lastLoad(dir string, cfg *pipeline.Config) *LastLoadSummary {
	t, err := (&pipeline.Project{Dir: dir, Config: *cfg}).Trace("")
	if ute := (*trace.UnreadableError)(nil); errors.As(err, &ute) {
		// Said as such, not replaced by the load before it.
		return &LastLoadSummary{LoadID: ute.LoadID, Status: trace.Unreadable, Next: ute.Error()}
	}
	if err != nil {
		return nil
	}
	s := &LastLoadSummary{LoadID: t.LoadID, Status: t.Status, Started: t.Started.UTC().Format(time.RFC3339),
		Warnings: t.Warnings, Record: t.Record, Next: "explain_load shows this load's requests, errors and next steps"}
	for _, r := range t.Resources {
		if r.Status == trace.StatusFailed {
			s.Failed = append(s.Failed, r.Name)
		}
	}
	return s
}

func cursors(raw json.RawMessage) map[string]CursorSummary {
	var st pipeline.State
	if json.Unmarshal(raw, &st) != nil {
		return nil
	}
	out := map[string]CursorSummary{}
	for name, c := range st.Cursors() {
		out[name] = CursorSummary{LastValue: c.LastValue, Initial: c.InitialValue, PendingIDs: len(c.PendingIDs)}
	}
	return out
}
