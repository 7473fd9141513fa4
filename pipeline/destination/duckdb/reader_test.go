package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
)

func openReader(t *testing.T, path string) dataset.Reader {
	t.Helper()
	r, err := OpenReader(context.Background(), path, datasettest.Dataset, ReaderOptions{})
	if err != nil {
		t.Fatalf("OpenReader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func mustQuery(t *testing.T, r dataset.Reader, q string, opts dataset.QueryOptions) *dataset.Result {
	t.Helper()
	res, err := r.Query(context.Background(), q, opts)
	if err != nil {
		t.Fatalf("Query(%q): %v", q, err)
	}
	return res
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func TestQueryReadsDatasetUnqualifiedAndQualified(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	for _, q := range []string{
		`SELECT id, name FROM pipelines ORDER BY id`,
		`SELECT id, name FROM codefresh_data.pipelines ORDER BY id`,
	} {
		res := mustQuery(t, r, q, dataset.QueryOptions{})
		if got := asJSON(t, res.Columns); got != `["id","name"]` {
			t.Errorf("%s: columns %s", q, got)
		}
		if got := asJSON(t, res.Types); got != `["VARCHAR","VARCHAR"]` {
			t.Errorf("%s: types %s", q, got)
		}
		if got := asJSON(t, res.Rows); got != `[["p1","build-api"],["p2","deploy-web"]]` {
			t.Errorf("%s: rows %s", q, got)
		}
		if res.RowCount != 2 || res.Truncated || res.Hint != "" {
			t.Errorf("%s: row_count %d truncated %v hint %q", q, res.RowCount, res.Truncated, res.Hint)
		}
		want := []dataset.LoadRef{{Table: "pipelines", LoadID: datasettest.LoadA, LoadedAt: mustTime(t, datasettest.LoadATS)}}
		if !sameRefs(res.Provenance, want) {
			t.Errorf("%s: provenance %+v, want %+v", q, res.Provenance, want)
		}
	}
}

func TestQueryProvenancePerReferencedTable(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	res := mustQuery(t, r, `
		WITH ok AS (SELECT * FROM builds WHERE status = 'success')
		SELECT p.name, count(*) AS n FROM ok JOIN pipelines p ON p.id = ok.pipeline_id
		WHERE ok._dlt_id IN (SELECT _dlt_parent_id FROM builds__annotations)
		GROUP BY ALL`, dataset.QueryOptions{})
	if got := asJSON(t, res.Rows); got != `[["build-api",1]]` {
		t.Errorf("rows %s", got)
	}
	want := []dataset.LoadRef{
		{Table: "builds", LoadID: datasettest.LoadB, LoadedAt: mustTime(t, datasettest.LoadBTS)},
		{Table: "builds__annotations", LoadID: datasettest.LoadB, LoadedAt: mustTime(t, datasettest.LoadBTS)},
		{Table: "pipelines", LoadID: datasettest.LoadA, LoadedAt: mustTime(t, datasettest.LoadATS)},
	}
	if !sameRefs(res.Provenance, want) {
		t.Errorf("provenance %+v, want %+v", res.Provenance, want)
	}

	// Neither a constant nor the system tables carry load ids.
	for _, q := range []string{`SELECT 42`, `SELECT count(*) FROM _dlt_loads`} {
		if res := mustQuery(t, r, q, dataset.QueryOptions{}); len(res.Provenance) != 0 {
			t.Errorf("%s: provenance %+v, want none", q, res.Provenance)
		}
	}
}

func TestQueryValuesAreJSONFriendly(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	res := mustQuery(t, r, `SELECT
		TIMESTAMPTZ '2024-01-02 03:04:05.5+00' AS ts, DATE '2024-01-02' AS d, TIME '10:11:12' AS tm,
		1.50::DECIMAL(10,2) AS dec, 170141183460469231731687303715884105727::HUGEINT AS h,
		'\xAA\xBB'::BLOB AS b, '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID AS u,
		[1, 2] AS l, {'a': 1, 'b': 'x'} AS s, MAP {'k': 'v'} AS m, MAP {1: 'one'} AS mi,
		'nan'::DOUBLE AS f, INTERVAL 1 DAY AS i, NULL AS n, 'é' AS txt`, dataset.QueryOptions{})
	want := `[["2024-01-02T03:04:05.5Z","2024-01-02","10:11:12","1.5","170141183460469231731687303715884105727",` +
		`"qrs=","6ba7b810-9dad-11d1-80b4-00c04fd430c8",[1,2],{"a":1,"b":"x"},{"k":"v"},[{"key":1,"value":"one"}],` +
		`"NaN",{"days":1,"micros":0,"months":0},null,"é"]]`
	if got := asJSON(t, res.Rows); got != want {
		t.Errorf("rows\n got %s\nwant %s", got, want)
	}
	if res.Types[3] != "DECIMAL(10,2)" || res.Types[0] != "TIMESTAMPTZ" {
		t.Errorf("types %v", res.Types)
	}
}

func TestQueryCapsTruncateHugeResults(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))

	res := mustQuery(t, r, `SELECT * FROM range(10000000)`, dataset.QueryOptions{})
	if res.RowCount != dataset.DefaultMaxRows || len(res.Rows) != dataset.DefaultMaxRows || !res.Truncated {
		t.Fatalf("row cap: %d rows, truncated %v", res.RowCount, res.Truncated)
	}
	if !strings.Contains(res.Hint, "row cap") || !strings.Contains(res.Hint, "LIMIT") {
		t.Errorf("row cap hint %q", res.Hint)
	}
	if got := asJSON(t, res.Rows[499]); got != `[499]` {
		t.Errorf("last row %s", got)
	}

	res = mustQuery(t, r, `SELECT * FROM range(10) LIMIT 3`, dataset.QueryOptions{MaxRows: 3})
	if res.Truncated || res.RowCount != 3 {
		t.Errorf("exactly max rows: truncated %v count %d", res.Truncated, res.RowCount)
	}

	// 100 rows of 5000 characters: each is cut to 2000, and the byte cap stops the rest.
	res = mustQuery(t, r, `SELECT range AS i, repeat('x', 5000) AS s FROM range(100)`, dataset.QueryOptions{})
	if !res.Truncated || res.RowCount == 0 || res.RowCount >= 100 {
		t.Fatalf("byte cap: %d rows, truncated %v", res.RowCount, res.Truncated)
	}
	if n := len(asJSON(t, res.Rows)); n > dataset.DefaultMaxBytes {
		t.Errorf("rows encode to %d bytes, cap %d", n, dataset.DefaultMaxBytes)
	}
	s := res.Rows[0][1].(string)
	if !strings.HasPrefix(s, strings.Repeat("x", dataset.DefaultMaxStringLen)+"…[cut: 3000 more characters]") {
		t.Errorf("cut string %q...", s[:40])
	}
	if !strings.Contains(res.Hint, "KiB output cap") || !strings.Contains(res.Hint, "substr") {
		t.Errorf("byte cap hint %q", res.Hint)
	}
}

func TestQueryTimeoutInterruptsDuckDB(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	slow := `SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = 7`
	done := make(chan error, 1)
	go func() {
		_, err := r.Query(context.Background(), slow, dataset.QueryOptions{Timeout: 200 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "interrupted after the 200ms timeout") {
			t.Fatalf("err = %v, want the timeout error", err)
		}
	case <-time.After(30 * time.Second): // a hang detector, not a speed check
		t.Fatal("the slow query was not interrupted")
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := r.Query(ctx, slow, dataset.QueryOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled query: err = %v", err)
	}
}

func TestInfo(t *testing.T) {
	path := datasettest.NewFile(t)
	info, err := openReader(t, path).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Destination != "duckdb" || info.Location != path || info.Dataset != "codefresh_data" {
		t.Errorf("header %+v", info)
	}
	var tables []string
	for _, ts := range info.Tables {
		tables = append(tables, asJSON(t, ts))
	}
	want := []string{
		`{"name":"builds","rows":3,"columns":7}`,
		`{"name":"builds__annotations","rows":2,"columns":7,"parent":"builds"}`,
		`{"name":"builds__annotations__values","rows":1,"columns":6,"parent":"builds__annotations"}`,
		`{"name":"pipelines","rows":2,"columns":6}`,
		`{"name":"_dlt_loads","rows":2,"columns":5,"system":true}`,
		`{"name":"_dlt_pipeline_state","rows":3,"columns":8,"system":true}`,
		`{"name":"_dlt_version","rows":2,"columns":6,"system":true}`,
	}
	if strings.Join(tables, "\n") != strings.Join(want, "\n") {
		t.Errorf("tables\n%s\nwant\n%s", strings.Join(tables, "\n"), strings.Join(want, "\n"))
	}
	if len(info.Loads) != 2 || info.Loads[0].LoadID != datasettest.LoadB || info.Loads[1].LoadID != datasettest.LoadA ||
		!info.Loads[0].InsertedAt.Equal(mustTime(t, datasettest.LoadBTS)) || info.Loads[0].SchemaVersionHash != "hash2" {
		t.Errorf("loads %+v", info.Loads)
	}
	if len(info.PipelineStates) != 2 {
		t.Fatalf("states %+v", info.PipelineStates)
	}
	byName := map[string]dataset.PipelineState{}
	for _, p := range info.PipelineStates {
		byName[p.PipelineName] = p
	}
	if p := byName[datasettest.Pipeline]; p.Version != 2 || p.LoadID != datasettest.LoadB || string(p.State) != datasettest.StateV2 {
		t.Errorf("newest state %+v", p)
	}
	if p := byName["legacy_pipeline"]; string(p.State) != datasettest.LegacyState {
		t.Errorf("compressed state decoded to %s", p.State)
	}
	if len(info.Schemas) != 1 || info.Schemas[0].Version != 2 || info.Schemas[0].VersionHash != "hash2" {
		t.Errorf("schemas %+v", info.Schemas)
	}
}

func TestDescribeShowsJoinsAndPrimaryKey(t *testing.T) {
	r := openReader(t, datasettest.NewFile(t))
	ctx := context.Background()

	ti, err := r.Describe(ctx, "codefresh_data.builds")
	if err != nil {
		t.Fatal(err)
	}
	if ti.Name != "builds" || ti.Rows != 3 || ti.Parent != nil || asJSON(t, ti.PrimaryKey) != `["id"]` {
		t.Errorf("builds: %+v", ti)
	}
	if got := asJSON(t, ti.Children); got != `[{"table":"builds__annotations","on":"builds__annotations._dlt_parent_id = builds._dlt_id"}]` {
		t.Errorf("builds children %s", got)
	}
	if got := asJSON(t, ti.Columns[0]); got != `{"name":"id","type":"VARCHAR","nullable":false,"primary_key":true}` {
		t.Errorf("builds column 0 %s", got)
	}
	if got := asJSON(t, ti.Columns[1]); got != `{"name":"status","type":"VARCHAR","nullable":true}` {
		t.Errorf("builds column 1 %s", got)
	}

	ti, err = r.Describe(ctx, "builds__annotations__values")
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, []*dataset.Join{ti.Parent, ti.Root}); got != `[{"table":"builds__annotations","on":"builds__annotations__values._dlt_parent_id = builds__annotations._dlt_id"},`+
		`{"table":"builds","on":"builds__annotations__values._dlt_root_id = builds._dlt_id"}]` {
		t.Errorf("grandchild joins %s", got)
	}

	// The join Describe gives is SQL that runs.
	mid, err := r.Describe(ctx, "builds__annotations")
	if err != nil {
		t.Fatal(err)
	}
	q := `SELECT b.id, a.key FROM builds__annotations JOIN builds ON ` + mid.Parent.On + ` JOIN builds__annotations a ON a._dlt_id = builds__annotations._dlt_id ORDER BY a.key`
	res := mustQuery(t, r, strings.ReplaceAll(q, "b.id", "builds.id"), dataset.QueryOptions{})
	if got := asJSON(t, res.Rows); got != `[["b1","env"],["b1","team"]]` {
		t.Errorf("join rows %s", got)
	}

	_, err = r.Describe(ctx, "nope")
	var nf *dataset.TableNotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "table nope not found in dataset codefresh_data; tables: _dlt_loads") {
		t.Errorf("unknown table: %v", err)
	}
}

func TestNoDataYet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "codefresh.duckdb")
	r := openReader(t, path)
	ctx := context.Background()
	_, err := r.Query(ctx, "SELECT 1", dataset.QueryOptions{})
	if !errors.Is(err, dataset.ErrNoData) || !strings.Contains(err.Error(), "codefresh-mcp load") {
		t.Errorf("Query: %v", err)
	}
	_, err = r.Info(ctx)
	if !errors.Is(err, dataset.ErrNoData) || !strings.Contains(err.Error(), "no load has run yet") {
		t.Errorf("Info: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("reading created %v", entries)
	}

	other, err := OpenReader(ctx, datasettest.NewFile(t), "other_data", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Info(ctx)
	if !errors.Is(err, dataset.ErrNoData) || !strings.Contains(err.Error(), "has no schema other_data (schemas: codefresh_data)") {
		t.Errorf("missing dataset: %v", err)
	}

	if _, err := OpenReader(ctx, path, "x'; DROP", ReaderOptions{}); err == nil {
		t.Error("a dataset name that is not an identifier was accepted")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func sameRefs(got, want []dataset.LoadRef) bool {
	if len(got) != len(want) {
		return false
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Table < got[j].Table })
	for i := range got {
		if got[i].Table != want[i].Table || got[i].LoadID != want[i].LoadID || !got[i].LoadedAt.Equal(want[i].LoadedAt) {
			return false
		}
	}
	return true
}
