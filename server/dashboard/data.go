package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// The dashboard's own statements go through the same sandbox as a user's;
// they only get room for more rows and longer text (schema bodies).
var internalCaps = dataset.QueryOptions{MaxRows: 20000, MaxBytes: 32 << 20, MaxStringLen: 16 << 20, Timeout: 60 * time.Second}

// read runs one of the dashboard's statements.
func (s *Server) read(ctx context.Context, sql string) (*dataset.Result, error) {
	res, err := s.opts.Reader.Query(ctx, sql, internalCaps)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rows returns a result as maps by column name, for readable loaders.
func rowMaps(res *dataset.Result) []map[string]any {
	out := make([]map[string]any, 0, len(res.Rows))
	for _, r := range res.Rows {
		m := make(map[string]any, len(r))
		for i, c := range res.Columns {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// qualified names a table of the dataset, quoted: names come from the catalog
// but are still data.
func qualified(dataset, table string) string { return ident(dataset) + "." + ident(table) }

func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func literal(s string) string { return dataset.QuoteLiteral(s) }

func asString(v any) string { return dataset.CellString(v) }

func asInt(v any) int64 { n, _ := dataset.CellInt(v); return n }

// asFloat returns v as a number, ok false for NULL.
func asFloat(v any) (float64, bool) { return dataset.CellFloat(v) }

func asTime(v any) time.Time { t, _ := dataset.CellTime(v); return t }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// loadStats is, per table and load id, how many rows of that load the table
// holds now: merged or replaced rows of older loads are gone, so this is
// what the dataset keeps of each load, not what the load wrote.
type loadStats map[string]map[string]int64 // table -> load id -> rows

// readLoadStats counts rows by _dlt_load_id in each data table, in one statement.
func (s *Server) readLoadStats(ctx context.Context, info *dataset.Info) (loadStats, error) {
	var parts []string
	for _, t := range info.Tables {
		if t.System || t.Rows == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("SELECT %s AS t, _dlt_load_id AS l, count(*) AS n FROM %s GROUP BY _dlt_load_id",
			literal(t.Name), qualified(info.Dataset, t.Name)))
	}
	out := loadStats{}
	if len(parts) == 0 {
		return out, nil
	}
	res, err := s.read(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return nil, fmt.Errorf("rows per load: %w", err)
	}
	for _, r := range res.Rows {
		t, l := asString(r[0]), asString(r[1])
		if out[t] == nil {
			out[t] = map[string]int64{}
		}
		out[t][l] = asInt(r[2])
	}
	return out, nil
}

// lastLoad is the newest of the loads a table holds rows of.
func (ls loadStats) lastLoad(table string, loadedAt map[string]time.Time) (string, time.Time) {
	var id string
	var at time.Time
	for l := range ls[table] {
		if t, ok := loadedAt[l]; ok && (t.After(at) || (t.Equal(at) && l > id)) {
			id, at = l, t
		} else if !ok && at.IsZero() && l > id {
			id = l
		}
	}
	return id, at
}

// traces reads the trace seam; a failing source is reported, not fatal.
func (s *Server) traces(ctx context.Context) ([]LoadTrace, string) {
	if s.opts.Traces == nil {
		return nil, "no load trace is recorded for this project yet: pages, retries and warnings appear here once loads record one"
	}
	ts, err := s.opts.Traces(ctx)
	if err != nil {
		return nil, "the load trace could not be read: " + err.Error()
	}
	return ts, ""
}
