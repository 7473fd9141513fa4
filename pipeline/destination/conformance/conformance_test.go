package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/duckdb"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// target is one destination and the reader of what it holds.
type target struct {
	name   string
	dest   destination.Destination
	reader dataset.Reader
}

// targets are the three destinations, each empty, for one dataset name.
// PostgreSQL is left out when no test server is configured (not on CI).
func targets(t *testing.T, ds string) []target {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "codefresh.duckdb")
	dr, err := dataset.OpenDuckDB(ctx, file, ds, dataset.DuckDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "codefresh_parquet")
	pr, err := dataset.OpenParquet(ctx, root, ds, dataset.ParquetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := []target{
		{"duckdb", duckdb.New(file, duckdb.Options{Dataset: ds}), dr},
		{"parquet", parquet.New(root, parquet.Options{Dataset: ds}), pr},
	}
	dsn, why := pgtest.Lookup(t)
	if dsn == "" {
		t.Logf("postgres left out: %s", why)
		return out
	}
	creds := secrets.PostgresOptions{Env: pgtest.Env(dsn)}
	pg, err := dataset.OpenPostgres(ctx, ds, dataset.PostgresOptions{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, target{"postgres", postgres.New(postgres.Options{Dataset: ds, Credentials: creds}), pg})
}

// datasetName is a fresh PostgreSQL test schema when there is a server
// (the other destinations use the same name), else codefresh_data.
func datasetName(t *testing.T) string {
	if dsn, _ := pgtest.Lookup(t); dsn != "" {
		return pgtest.Dataset(t, dsn)
	}
	return destination.DefaultDataset
}

// setup commits the three good loads into every target.
func setup(t *testing.T) (*Builder, []target, [][]*destination.CommitStats) {
	t.Helper()
	ctx := context.Background()
	ds := datasetName(t)
	ts := targets(t, ds)
	b := NewBuilder(ds, t.TempDir())
	pkgs, err := b.Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		t.Cleanup(func() { p.Stage.Close() })
	}
	stats := make([][]*destination.CommitStats, len(ts))
	// DuckDB (ts[0]) commits last: its first load takes the stage file over
	// as its database, after which no other destination may read that stage.
	for i := len(ts) - 1; i >= 0; i-- {
		tg := ts[i]
		for _, p := range pkgs {
			s, err := tg.dest.Commit(ctx, p)
			if err != nil {
				t.Fatalf("%s: commit %s: %v", tg.name, p.LoadID, err)
			}
			stats[i] = append(stats[i], s)
		}
	}
	return b, ts, stats
}

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

// answer is a result as compared across destinations: columns and rows as JSON.
func answer(t *testing.T, tg target, ds, q string) string {
	t.Helper()
	q = strings.ReplaceAll(q, "codefresh_data_placeholder", ds)
	res, err := tg.reader.Query(context.Background(), q, dataset.QueryOptions{MaxRows: 10000, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatalf("%s: %s: %v", tg.name, q, err)
	}
	if res.Truncated {
		t.Fatalf("%s: %s: truncated", tg.name, q)
	}
	b, err := json.Marshal(struct {
		Columns []string
		Rows    [][]any
	}{res.Columns, res.Rows})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same loads give the same commit stats, row counts, schemas, state
// and query answers in every destination.
func TestSameLoadsSameAnswers(t *testing.T) {
	b, ts, stats := setup(t)
	ctx := context.Background()
	for i := 1; i < len(ts); i++ {
		for n := range stats[0] {
			if !reflect.DeepEqual(stats[i][n].Tables, stats[0][n].Tables) {
				t.Errorf("load %d stats: %s %+v, %s %+v", n+1, ts[0].name, stats[0][n].Tables, ts[i].name, stats[i][n].Tables)
			}
		}
	}
	// What the loads must have done, whatever the destination.
	want := map[string]int64{"builds": 5, "builds__steps": 10, "builds__annotations": 5, "pipelines": 2, "images": 4,
		"pipelines__metadata__labels__tags": 3, "_dlt_loads": 3, "_dlt_pipeline_state": 2}
	for _, tg := range ts {
		info, err := tg.reader.Info(ctx)
		if err != nil {
			t.Fatalf("%s: info: %v", tg.name, err)
		}
		if info.Destination != tg.name || info.Dataset != b.Dataset {
			t.Errorf("%s: info names %s / %s", tg.name, info.Destination, info.Dataset)
		}
		rows := map[string]int64{}
		for _, tb := range info.Tables {
			rows[tb.Name] = tb.Rows
		}
		for name, n := range want {
			if rows[name] != n {
				t.Errorf("%s: %s has %d rows, want %d", tg.name, name, rows[name], n)
			}
		}
	}
	infos := make([]string, len(ts))
	for i, tg := range ts {
		infos[i] = infoSummary(t, tg)
	}
	for i := 1; i < len(ts); i++ {
		if infos[i] != infos[0] {
			t.Errorf("info differs:\n%s: %s\n%s: %s", ts[0].name, infos[0], ts[i].name, infos[i])
		}
	}
	for _, q := range queries {
		first := answer(t, ts[0], b.Dataset, q)
		for _, tg := range ts[1:] {
			if got := answer(t, tg, b.Dataset, q); got != first {
				t.Errorf("%s\n%s: %s\n%s: %s", q, ts[0].name, first, tg.name, got)
			}
		}
	}
	// Every data table, row for row.
	info, err := ts[0].reader.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range info.Tables {
		if tb.System {
			continue
		}
		q := fmt.Sprintf(`SELECT * FROM %s ORDER BY _dlt_id`, tb.Name)
		first := answer(t, ts[0], b.Dataset, q)
		for _, tg := range ts[1:] {
			if got := answer(t, tg, b.Dataset, q); got != first {
				t.Errorf("table %s\n%s: %s\n%s: %s", tb.Name, ts[0].name, first, tg.name, got)
			}
		}
	}
	for _, tg := range ts {
		st, err := tg.dest.LastState(ctx, Pipeline)
		if err != nil || !strings.Contains(string(st), `"last_value":"2024-01-02T00:00:00Z"`) {
			t.Errorf("%s: last state %s, %v", tg.name, st, err)
		}
		s, err := tg.dest.StoredSchema(ctx, SchemaName)
		if err != nil || s == nil {
			t.Fatalf("%s: stored schema %v, %v", tg.name, s, err)
		}
		if s.VersionHash != b.schema.VersionHash || len(s.Tables) != len(b.schema.Tables) {
			t.Errorf("%s: stored schema %s with %d tables, want %s with %d", tg.name, s.VersionHash, len(s.Tables), b.schema.VersionHash, len(b.schema.Tables))
		}
	}
}

// infoSummary is what Info and Describe say that must not depend on the
// destination: tables, row and column counts, parents, loads, state,
// schema versions, primary keys, joins and column types by family.
func infoSummary(t *testing.T, tg target) string {
	t.Helper()
	ctx := context.Background()
	info, err := tg.reader.Info(ctx)
	if err != nil {
		t.Fatalf("%s: info: %v", tg.name, err)
	}
	var b strings.Builder
	for _, tb := range info.Tables {
		fmt.Fprintf(&b, "table %s rows=%d cols=%d parent=%s system=%v\n", tb.Name, tb.Rows, tb.Columns, tb.Parent, tb.System)
		d, err := tg.reader.Describe(ctx, tb.Name)
		if err != nil {
			t.Fatalf("%s: describe %s: %v", tg.name, tb.Name, err)
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

// snapshot is everything a reader shows of a destination: the info and
// every table's rows.
func snapshot(t *testing.T, tg target, ds string) string {
	t.Helper()
	ctx := context.Background()
	info, err := tg.reader.Info(ctx)
	if err != nil {
		t.Fatalf("%s: info: %v", tg.name, err)
	}
	var b strings.Builder
	b.WriteString(infoSummary(t, tg))
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
		fmt.Fprintf(&b, "%s: %s\n", name, answer(t, tg, ds, fmt.Sprintf(`SELECT * FROM %q ORDER BY %s`, name, strings.Join(order, ", "))))
	}
	return b.String()
}

// A load that fails half-way (after a replace and a merge, with a new
// column) leaves every destination exactly as it was, and a later load
// still works.
func TestFailedLoadLeavesEachAsBefore(t *testing.T) {
	b, ts, _ := setup(t)
	ctx := context.Background()
	bad, err := b.Failing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Stage.Close()
	for _, tg := range ts {
		before := snapshot(t, tg, b.Dataset)
		_, err := tg.dest.Commit(ctx, bad)
		if err == nil {
			t.Fatalf("%s: the failing load committed", tg.name)
		}
		t.Logf("%s: %v", tg.name, err)
		if after := snapshot(t, tg, b.Dataset); after != before {
			t.Errorf("%s changed by a failed load:\nbefore\n%s\nafter\n%s", tg.name, before, after)
		}
		st, err := tg.dest.LastState(ctx, Pipeline)
		if err != nil || strings.Contains(string(st), "2024-01-09") {
			t.Errorf("%s: state moved: %s, %v", tg.name, st, err)
		}
	}
}
