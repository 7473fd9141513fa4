package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

type overviewData struct {
	Info      *dataset.Info
	Pipeline  string
	Tables    []tableRow
	System    []dataset.TableSummary
	TotalRows int64
	Cursors   []cursorRow
	LastLoad  *dataset.Load
	LastTrace *LoadTrace
	Warnings  []string
	TraceNote string
	StatsNote string
}

type tableRow struct {
	dataset.TableSummary
	LastLoadID string
	LastLoadAt time.Time
}

type cursorRow struct {
	Name      string
	LastValue string
	At        time.Time // LastValue as a time, when it is one
	Initial   string
	Pending   int
}

func (s *Server) overview(ctx context.Context, _ *http.Request) (any, error) {
	info, err := s.opts.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	d := &overviewData{Info: info, Pipeline: s.opts.Pipeline}
	stats, err := s.readLoadStats(ctx, info)
	if err != nil {
		d.StatsNote = err.Error()
	}
	loadedAt := map[string]time.Time{}
	for _, l := range info.Loads {
		loadedAt[l.LoadID] = l.InsertedAt
	}
	for _, t := range info.Tables {
		if t.System {
			d.System = append(d.System, t)
			continue
		}
		row := tableRow{TableSummary: t}
		row.LastLoadID, row.LastLoadAt = stats.lastLoad(t.Name, loadedAt)
		d.Tables = append(d.Tables, row)
		d.TotalRows += t.Rows
	}
	if len(info.Loads) > 0 {
		d.LastLoad = &info.Loads[0]
	}
	d.Cursors = cursorsOf(info, s.opts.Pipeline)

	traces, note := s.traces(ctx)
	d.TraceNote = note
	if len(traces) > 0 {
		d.LastTrace = &traces[0]
		d.Warnings = traces[0].allWarnings()
	}
	return d, nil
}

// cursorsOf reads the incremental cursors from the pipeline's newest state.
func cursorsOf(info *dataset.Info, pipelineName string) []cursorRow {
	var out []cursorRow
	for _, ps := range info.PipelineStates {
		if pipelineName != "" && ps.PipelineName != pipelineName {
			continue
		}
		var st pipeline.State
		if json.Unmarshal(ps.State, &st) != nil {
			continue
		}
		for name, c := range st.Cursors() {
			out = append(out, cursorRow{Name: name, LastValue: c.LastValue, At: asTime(c.LastValue), Initial: c.InitialValue, Pending: len(c.PendingIDs)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
