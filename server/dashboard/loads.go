package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// loadHistory is how many _dlt_loads rows the Loads page lists.
const loadHistory = 100

type loadsData struct {
	Loads     []loadRow
	TraceNote string
	StatsNote string
}

// loadRow is one load: its _dlt_loads row, its trace, or both.
type loadRow struct {
	ID        string
	Status    string
	At        time.Time
	Committed bool // has a _dlt_loads row
	Trace     *LoadTrace
	Pages     int
	Retries   int
	Requests  int
	Rows      []tableCount // from the trace when there is one, else what the dataset holds of the load
	RowsKept  bool         // Rows are what the dataset holds now, not what was written
	Warnings  []string
	Open      bool // shown unfolded: the newest failed load opens on its error
}

type tableCount struct {
	Table string
	Rows  int64
}

func (s *Server) loads(ctx context.Context, _ *http.Request) (any, error) {
	info, err := s.opts.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	d := &loadsData{}
	res, err := s.read(ctx, fmt.Sprintf(`SELECT load_id, status, inserted_at FROM %s ORDER BY inserted_at DESC, load_id DESC LIMIT %d`,
		qualified(info.Dataset, "_dlt_loads"), loadHistory))
	if err != nil {
		return nil, fmt.Errorf("read _dlt_loads: %w", err)
	}
	stats, err := s.readLoadStats(ctx, info)
	if err != nil {
		d.StatsNote = err.Error()
	}
	traces, note := s.traces(ctx)
	d.TraceNote = note
	byID := map[string]*LoadTrace{}
	for i := range traces {
		if traces[i].LoadID != "" {
			byID[traces[i].LoadID] = &traces[i]
		}
	}

	seen := map[string]bool{}
	for _, r := range res.Rows {
		id := asString(r[0])
		row := loadRow{ID: id, At: asTime(r[2]), Committed: true, Status: "loaded"}
		if st := asInt(r[1]); st != 0 {
			row.Status = fmt.Sprintf("status %d", st)
		}
		row.Trace = byID[id]
		seen[id] = true
		d.Loads = append(d.Loads, row)
	}
	// Loads that committed nothing (failed, cancelled) exist only in their trace.
	for i := range traces {
		t := &traces[i]
		if t.LoadID == "" || !seen[t.LoadID] {
			d.Loads = append(d.Loads, loadRow{ID: t.LoadID, At: t.Started, Trace: t})
		}
	}
	sort.SliceStable(d.Loads, func(i, j int) bool { return d.Loads[i].At.After(d.Loads[j].At) })

	opened := false
	for i := range d.Loads {
		l := &d.Loads[i]
		if t := l.Trace; t != nil {
			if t.Status != "" {
				l.Status = t.Status
			}
			if l.At.IsZero() {
				l.At = t.Started
			}
			l.Pages, l.Retries, l.Requests, _ = t.totals()
			l.Rows = traceRows(t)
			l.Warnings = t.allWarnings()
			if t.Failed() && !opened {
				l.Open, opened = true, true
			}
		}
		if len(l.Rows) == 0 && l.Committed {
			l.Rows, l.RowsKept = stats.ofLoad(l.ID), true
		}
	}
	return d, nil
}

func traceRows(t *LoadTrace) []tableCount {
	sum := map[string]int64{}
	for _, r := range t.Resources {
		for table, n := range r.Rows {
			sum[table] += n
		}
	}
	return sortedCounts(sum)
}

func (ls loadStats) ofLoad(id string) []tableCount {
	sum := map[string]int64{}
	for table, byLoad := range ls {
		if n, ok := byLoad[id]; ok {
			sum[table] = n
		}
	}
	return sortedCounts(sum)
}

func sortedCounts(m map[string]int64) []tableCount {
	out := make([]tableCount, 0, len(m))
	for t, n := range m {
		out = append(out, tableCount{t, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
