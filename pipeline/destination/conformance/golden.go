package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// The fixture loads (Builder) must answer the same in every destination:
// the same commit stats, info, descriptions and query answers, which
// testdata/answers.golden holds. UPDATE_CONFORMANCE=1 rewrites it.

// queries are portable SQL whose answers must match across destinations.
var queries = []string{
	`SELECT count(*) AS n FROM builds`,
	`SELECT id, status, progress, finished, created, trigger FROM builds ORDER BY id`,
	`SELECT b.id, s.name, s.duration, s._dlt_list_idx FROM codefresh_data_placeholder.builds b JOIN builds__steps s ON s._dlt_parent_id = b._dlt_id ORDER BY b.id, s._dlt_list_idx`,
	`SELECT id, metadata__name, metadata__project, spec__concurrency FROM pipelines ORDER BY id`,
	`SELECT p.id, t.value FROM pipelines p JOIN pipelines__metadata__labels__tags t ON t._dlt_parent_id = p._dlt_id ORDER BY 1, 2`,
	`SELECT status, count(*) AS n, sum(progress) AS total FROM builds GROUP BY status ORDER BY status`,
	`SELECT id, tag, created FROM images ORDER BY id, _dlt_load_id`,
	`SELECT _dlt_load_id, count(*) AS n FROM images GROUP BY 1 ORDER BY 1`,
	`SELECT version, state, _dlt_load_id FROM _dlt_pipeline_state ORDER BY version`,
	`SELECT load_id, status, schema_name FROM _dlt_loads ORDER BY load_id`,
	`SELECT version, version_hash FROM _dlt_version ORDER BY version`,
	`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM builds`,
	`SELECT * FROM pipelines ORDER BY id LIMIT 10`,
	`SELECT * FROM builds__steps ORDER BY _dlt_id`,
}

// setup commits the three good fixture loads.
func (r *run) setup(t *testing.T) (*Builder, []*destination.CommitStats) {
	t.Helper()
	ctx := context.Background()
	b := NewBuilder(r.dataset, t.TempDir())
	pkgs, err := b.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stats []*destination.CommitStats
	for _, p := range pkgs {
		t.Cleanup(func() { p.Stage.Close() })
		s, err := r.Dest.Commit(ctx, p)
		if err != nil {
			t.Fatalf("commit %s: %v", p.LoadID, err)
		}
		stats = append(stats, s)
	}
	return b, stats
}

// answer is a result as compared across destinations: columns and rows as JSON.
func (r *run) answer(t *testing.T, q string) string {
	t.Helper()
	res := r.result(t, strings.ReplaceAll(q, "codefresh_data_placeholder", r.dataset))
	b, err := json.Marshal(struct {
		Columns []string
		Rows    [][]any
	}{res.Columns, res.Rows})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rowIDs are the columns of random row ids, which differ from one build
// of the fixture loads to the next: the golden answers show them as #id.
// (That the ids join up, the queries say; that a destination keeps them
// verbatim, testReplace says.)
var rowIDs = map[string]bool{"_dlt_id": true, "_dlt_parent_id": true, "_dlt_root_id": true}

// goldenAnswer is answer with row ids masked; rows ordered by a row id
// are sorted, as that order is random.
func (r *run) goldenAnswer(t *testing.T, q string) string {
	t.Helper()
	res := r.result(t, strings.ReplaceAll(q, "codefresh_data_placeholder", r.dataset))
	rows := make([]string, len(res.Rows))
	for i, row := range res.Rows {
		for j, c := range res.Columns {
			if rowIDs[c] && row[j] != nil {
				row[j] = "#id"
			}
		}
		b, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = string(b)
	}
	if strings.Contains(q, "ORDER BY _dlt_id") {
		sort.Strings(rows)
	}
	return fmt.Sprintf("columns %s\n  %s", strings.Join(res.Columns, ","), strings.Join(rows, "\n  "))
}

// The fixture loads give the golden commit stats, row counts, schemas,
// state and query answers.
func testGolden(t *testing.T, r *run) {
	b, stats := r.setup(t)
	ctx := context.Background()
	var got strings.Builder
	for n, s := range stats {
		js, err := json.Marshal(s.Tables)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "load %d stats %s\n", n+1, js)
	}
	info, err := r.Reader.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Destination != r.f.Name || info.Dataset != b.Dataset {
		t.Errorf("info names %s / %s", info.Destination, info.Dataset)
	}
	got.WriteString(r.infoSummary(t))
	for _, q := range queries {
		fmt.Fprintf(&got, "%s\n  %s\n", q, r.goldenAnswer(t, q))
	}
	// Every data table, row for row.
	for _, tb := range info.Tables {
		if !tb.System {
			q := fmt.Sprintf(`SELECT * FROM %s ORDER BY _dlt_id`, tb.Name)
			fmt.Fprintf(&got, "%s\n  %s\n", q, r.goldenAnswer(t, q))
		}
	}
	compareGolden(t, got.String())

	st, err := r.Dest.LastState(ctx, Pipeline)
	if err != nil || !strings.Contains(string(st), `"last_value":"2024-01-02T00:00:00Z"`) {
		t.Errorf("last state %s, %v", st, err)
	}
	s, err := r.Dest.StoredSchema(ctx, SchemaName)
	if err != nil || s == nil {
		t.Fatalf("stored schema %v, %v", s, err)
	}
	if s.VersionHash != b.schema.VersionHash || len(s.Tables) != len(b.schema.Tables) {
		t.Errorf("stored schema %s with %d tables, want %s with %d", s.VersionHash, len(s.Tables), b.schema.VersionHash, len(b.schema.Tables))
	}
}

// compareGolden compares got with testdata/answers.golden beside this file.
func compareGolden(t *testing.T, got string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "testdata", "answers.golden")
	if os.Getenv("UPDATE_CONFORMANCE") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (UPDATE_CONFORMANCE=1 writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("answers differ from %s at line %d:\n got %s\nwant %s", path, i+1, g, w)
			}
		}
	}
}

// infoSummary is what Info and Describe say that must not depend on the
// destination: tables, row and column counts, parents, loads, state,
// schema versions, primary keys, joins and column types by family.
func (r *run) infoSummary(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	info, err := r.Reader.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	var b strings.Builder
	for _, tb := range info.Tables {
		fmt.Fprintf(&b, "table %s rows=%d cols=%d parent=%s system=%v\n", tb.Name, tb.Rows, tb.Columns, tb.Parent, tb.System)
		d, err := r.Reader.Describe(ctx, tb.Name)
		if err != nil {
			t.Fatalf("describe %s: %v", tb.Name, err)
		}
		var cols []string
		for _, c := range d.Columns {
			cols = append(cols, c.Name+":"+typeFamily(c.Type))
		}
		fmt.Fprintf(&b, "  columns %s pk=%v parent=%v root=%v children=%v\n", strings.Join(cols, ","), d.PrimaryKey, d.Parent, d.Root, d.Children)
	}
	for _, l := range info.Loads {
		fmt.Fprintf(&b, "load %s status=%d schema=%s hash=%s\n", l.LoadID, l.Status, l.SchemaName, l.SchemaVersionHash)
	}
	for _, p := range info.PipelineStates {
		fmt.Fprintf(&b, "state %s v%d engine=%d load=%s %s\n", p.PipelineName, p.Version, p.EngineVersion, p.LoadID, p.State)
	}
	for _, s := range info.Schemas {
		fmt.Fprintf(&b, "schema %s v%d engine=%d %s\n", s.SchemaName, s.Version, s.EngineVersion, s.VersionHash)
	}
	return b.String()
}

// typeFamily maps DuckDB and PostgreSQL type names of the destination
// types to one name.
func typeFamily(t string) string {
	switch strings.ToLower(t) {
	case "bigint":
		return "bigint"
	case "double", "double precision":
		return "double"
	case "boolean":
		return "bool"
	case "varchar", "text":
		return "text"
	case "timestamp with time zone", "timestamptz":
		return "timestamp"
	case "json", "jsonb":
		return "json"
	}
	return "other:" + t
}

// snapshot is everything the reader shows of the destination: the info
// and every table's rows.
func (r *run) snapshot(t *testing.T) string {
	t.Helper()
	info, err := r.Reader.Info(context.Background())
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	var b strings.Builder
	b.WriteString(r.infoSummary(t))
	names := make([]string, 0, len(info.Tables))
	cols := map[string]int{}
	for _, tb := range info.Tables {
		names = append(names, tb.Name)
		cols[tb.Name] = tb.Columns
	}
	sort.Strings(names)
	for _, name := range names {
		order := make([]string, cols[name])
		for i := range order {
			order[i] = fmt.Sprint(i + 1)
		}
		fmt.Fprintf(&b, "%s: %s\n", name, r.answer(t, fmt.Sprintf(`SELECT * FROM %q ORDER BY %s`, name, strings.Join(order, ", "))))
	}
	return b.String()
}

// state is what the reader shows and, when the instance says, what the
// destination stores.
func (r *run) state(t *testing.T) string {
	t.Helper()
	s := r.snapshot(t)
	if r.Stored != nil {
		s += "stored:\n" + r.Stored(t)
	}
	return s
}

// A fixture load that fails half-way (after a replace and a merge, with a
// new column) leaves the destination exactly as it was.
func testFailedFixtureLoad(t *testing.T, r *run) {
	b, _ := r.setup(t)
	ctx := context.Background()
	bad, err := b.Failing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Stage.Close()
	before := r.state(t)
	if _, err := r.Dest.Commit(ctx, bad); err == nil {
		t.Fatal("the failing load committed")
	} else {
		t.Logf("%v", err)
	}
	if after := r.state(t); after != before {
		t.Errorf("changed by a failed load:\nbefore\n%s\nafter\n%s", before, after)
	}
	st, err := r.Dest.LastState(ctx, Pipeline)
	if err != nil || strings.Contains(string(st), "2024-01-09") {
		t.Errorf("state moved: %s, %v", st, err)
	}
}
