package parquet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

const (
	pipelineName = "codefresh_pipeline"
	dataset      = "codefresh_data"
	load1        = "1749667187.541553"
	load2        = "1749667290.100000"
	load3        = "1749667391.200000"
)

func col(name string, t normalize.DataType) *normalize.Column {
	return &normalize.Column{Name: name, DataType: t, Nullable: true}
}

func orderSchema(disposition string) *normalize.Schema {
	id := col("id", normalize.Bigint)
	id.PrimaryKey = true
	id.Nullable = false
	return &normalize.Schema{Name: "codefresh", Version: 1, VersionHash: "h1", Tables: []*normalize.Table{
		{Name: "order", Resource: "order", WriteDisposition: disposition, Columns: []*normalize.Column{
			id, col("group", normalize.Text), col(`we"ird col`, normalize.Double),
			col("_dlt_load_id", normalize.Text), col("_dlt_id", normalize.Text), col("meta", normalize.JSON),
		}},
		{Name: "order__items", Parent: "order", Columns: []*normalize.Column{
			col("value", normalize.Text), col("_dlt_parent_id", normalize.Text), col("_dlt_list_idx", normalize.Bigint),
			col("_dlt_root_id", normalize.Text), col("_dlt_load_id", normalize.Text), col("_dlt_id", normalize.Text),
		}},
	}}
}

type order struct {
	id    int64
	group string
	items []string
}

func stageOrders(t *testing.T, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	st, err := stage.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, child := s.Tables[0], s.Tables[1]
	for n, o := range orders {
		rowID := fmt.Sprintf("%s-%d", loadID, n)
		if err := st.Write(root, []any{o.id, o.group, float64(o.id) / 2, loadID, rowID, fmt.Sprintf(`{"n":%d}`, o.id)}); err != nil {
			t.Fatal(err)
		}
		for i, it := range o.items {
			if err := st.Write(child, []any{it, rowID, int64(i), rowID, loadID, fmt.Sprintf("%s-%d", rowID, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

func pkgFor(s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	p := &destination.Package{LoadID: loadID, PipelineName: pipelineName, Dataset: dataset, Schema: s,
		Stage: st, Resources: []string{"order"}}
	if state != "" {
		p.State = json.RawMessage(state)
	}
	return p
}

func newDest(t *testing.T) *Destination {
	return New(filepath.Join(t.TempDir(), "codefresh_parquet"), Options{LockWait: 300 * time.Millisecond})
}

func commit(t *testing.T, d *Destination, p *destination.Package) *destination.CommitStats {
	t.Helper()
	stats, err := d.Commit(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// query runs q over views of the committed files (schema codefresh_data),
// returning its rows as "a,b;c,d".
func query(t *testing.T, d *Destination, q string) string {
	t.Helper()
	ctx := context.Background()
	l, err := Scan(d.root, dataset)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duckfile.Open(ctx, "", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmts := []string{"CREATE SCHEMA codefresh_data", "SET search_path = 'codefresh_data'"}
	for _, name := range l.TableNames() {
		stmts = append(stmts, fmt.Sprintf("CREATE VIEW codefresh_data.%s AS SELECT * FROM %s", stage.QuoteIdent(name), readFiles(l.Tables[name])))
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339)
			}
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, ","))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ";")
}

// files lists every file under the destination, relative, with its size.
func files(t *testing.T, d *Destination) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.root, path)
		if e.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		if e.Name() == lockName {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d", rel, info.Size()))
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

func tableFiles(t *testing.T, d *Destination, table string) []string {
	t.Helper()
	l, err := Scan(d.root, dataset)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range l.Tables[table] {
		out = append(out, filepath.Base(f))
	}
	return out
}

func TestReplace(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x", "y"}}, order{2, "b", nil}, order{3, "c", []string{"z"}}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{4, "d", []string{"w"}}, order{5, "e", nil}), load2, ""))
	want := map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 3}, "order__items": {Inserted: 1, Deleted: 3}}
	if !reflect.DeepEqual(stats.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", stats.Tables, want)
	}
	if got := query(t, d, `SELECT id, "group", meta->>'n' FROM "order" ORDER BY id`); got != "4,d,4;5,e,5" {
		t.Fatalf("order = %s", got)
	}
	if got := query(t, d, `SELECT value, _dlt_load_id FROM order__items`); got != "w,"+load2 {
		t.Fatalf("items = %s", got)
	}
	// The old files are gone from the folder, not only from the layout.
	if got, _ := os.ReadDir(filepath.Join(d.root, dataset, "order")); len(got) != 1 || got[0].Name() != load2+".parquet" {
		t.Fatalf("order files = %v", got)
	}
	if _, err := os.Stat(filepath.Join(d.root, dataset, journalName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("journal left behind: %v", err)
	}
}

func TestReplaceWithNoStagedRowsEmptiesTables(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, ""))
	for i, st := range []*stage.Stage{nil, stageOrders(t, s, load2)} {
		stats := commit(t, d, pkgFor(s, st, fmt.Sprintf("%s%d", load2, i), ""))
		if got := query(t, d, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "0,0" {
			t.Fatalf("counts = %s", got)
		}
		if st == nil && (stats.Tables["order"].Deleted != 1 || stats.Tables["order__items"].Deleted != 1) {
			t.Fatalf("stats = %+v", stats.Tables)
		}
	}
}

func TestAppendAddsAFilePerLoad(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{1, "a", []string{"x", "y"}}), load2, ""))
	if got := stats.Tables["order"]; got != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("order stats = %+v", got)
	}
	if got := query(t, d, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "3,3" {
		t.Fatalf("counts = %s", got)
	}
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load1 + ".parquet", load2 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
}

func TestMergeTwiceReplacesRootsAndChildren(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1", "a2"}}, order{2, "b", []string{"b1", "b2", "b3"}}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load2, ""))
	want := map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 1}, "order__items": {Inserted: 2, Deleted: 3}}
	if !reflect.DeepEqual(stats.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", stats.Tables, want)
	}
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load3, ""))
	if got := query(t, d, `SELECT id, "group", count(*) OVER (PARTITION BY id) FROM "order" ORDER BY id`); got != "1,a,1;2,B,1;3,c,1" {
		t.Fatalf("order = %s", got)
	}
	got := query(t, d, `SELECT r.id, i.value FROM order__items i JOIN "order" r ON i._dlt_root_id = r._dlt_id ORDER BY ALL`)
	if got != "1,a1;1,a2;2,B1;3,c1" {
		t.Fatalf("items = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM order__items`); got != "4" {
		t.Fatalf("orphan or duplicate items: %s", got)
	}
	// A merge that replaced rows rewrote the table into one file.
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load3 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
}

// A merge of new keys only adds a file: nothing stored is rewritten.
func TestMergeOfNewKeysAddsAFile(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1"}}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", []string{"b1"}}), load2, ""))
	if stats.Tables["order"] != (destination.TableStats{Inserted: 1}) || stats.Tables["order__items"] != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("stats = %+v", stats.Tables)
	}
	if got := tableFiles(t, d, "order"); !slices.Equal(got, []string{load1 + ".parquet", load2 + ".parquet"}) {
		t.Fatalf("files = %v", got)
	}
	if got := query(t, d, `SELECT id FROM "order" ORDER BY id`); got != "1;2" {
		t.Fatalf("order = %s", got)
	}
}

func TestMergeDuplicateKeysLastWins(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load1,
		order{7, "first", []string{"f1", "f2"}}, order{8, "other", nil}, order{7, "second", []string{"s1"}}, order{7, "last", []string{"l1"}}), load1, ""))
	if got := query(t, d, `SELECT id, "group" FROM "order" ORDER BY id`); got != "7,last;8,other" {
		t.Fatalf("order = %s", got)
	}
	if got := query(t, d, `SELECT value FROM order__items`); got != "l1" {
		t.Fatalf("items = %s", got)
	}
	if stats.Tables["order"].Inserted != 2 || stats.Tables["order__items"].Inserted != 1 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
}

func TestMergeWithoutKeyAppends(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	s.Tables[0].Columns[0].PrimaryKey = false
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{1, "a", nil}), load2, ""))
	if got := query(t, d, `SELECT count(*) FROM "order"`); got != "2" {
		t.Fatalf("count = %s", got)
	}
}

func TestIncompleteResourceNotLoaded(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	p := pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, "")
	p.Resources = nil
	stats := commit(t, d, p)
	if len(stats.Tables) != 0 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
	// No table of the failed resource, as in the other destinations.
	if got := query(t, d, `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_name IN ('order', 'order__items')), (SELECT count(*) FROM _dlt_loads)`); got != "0,1" {
		t.Fatalf("tables, loads = %s", got)
	}
	// Once loaded, a later failure leaves the tables and their rows alone.
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", []string{"y"}}), load2, ""))
	p3 := pkgFor(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, "")
	p3.Resources = nil
	commit(t, d, p3)
	if got := query(t, d, `SELECT (SELECT string_agg(id::VARCHAR, ',') FROM "order"), (SELECT count(*) FROM order__items)`); got != "2,1" {
		t.Fatalf("rows = %s", got)
	}
}

func TestSchemaEvolutionAndTypes(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, ""))

	s2 := orderSchema("append")
	s2.Version, s2.VersionHash = 2, "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, col("select", normalize.Timestamp), col("ok", normalize.Bool))
	s2.Tables[1].Columns = append(s2.Tables[1].Columns, col("late", normalize.Bigint))
	st := stageOrders(t, s2, load2)
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Write(s2.Tables[0], []any{int64(2), "b", 1.0, load2, "r2", `[1,{"a":null}]`, ts, true}); err != nil {
		t.Fatal(err)
	}
	commit(t, d, pkgFor(s2, st, load2, ""))
	if got := query(t, d, `SELECT id, "select", ok, CAST(meta AS VARCHAR) FROM "order" ORDER BY id`); got != `1,<nil>,<nil>,{"n":1};2,2025-06-01T12:00:00Z,true,[1,{"a":null}]` {
		t.Fatalf("rows = %s", got)
	}
	want := `id BIGINT;group VARCHAR;we"ird col DOUBLE;_dlt_load_id VARCHAR;_dlt_id VARCHAR;meta JSON;select TIMESTAMP WITH TIME ZONE;ok BOOLEAN`
	if got := query(t, d, `SELECT column_name || ' ' || column_type FROM (DESCRIBE "order")`); got != want {
		t.Fatalf("columns\n got %s\nwant %s", got, want)
	}
	// A child table with no new rows still shows its new column.
	if got := query(t, d, `SELECT count(late), count(*) FROM order__items`); got != "0,1" {
		t.Fatalf("order__items = %s", got)
	}
	if got := query(t, d, `SELECT version, version_hash FROM _dlt_version ORDER BY version`); got != "1,h1;2,h2" {
		t.Fatalf("_dlt_version = %s", got)
	}
}

func TestSystemTablesAsDlt(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, `{"cursor":"2025-06-01"}`))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", nil}), load2, `{"cursor":"2025-06-01"}`))
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, `{"cursor":"2025-06-02"}`))
	want := map[string]string{
		destination.LoadsTable: "load_id VARCHAR;schema_name VARCHAR;status BIGINT;inserted_at TIMESTAMP WITH TIME ZONE;schema_version_hash VARCHAR",
		destination.StateTable: "version BIGINT;engine_version BIGINT;pipeline_name VARCHAR;state VARCHAR;" +
			"created_at TIMESTAMP WITH TIME ZONE;version_hash VARCHAR;_dlt_load_id VARCHAR;_dlt_id VARCHAR",
		destination.VersionTable: "version BIGINT;engine_version BIGINT;inserted_at TIMESTAMP WITH TIME ZONE;" +
			"schema_name VARCHAR;version_hash VARCHAR;schema VARCHAR",
	}
	for table, w := range want {
		if got := query(t, d, `SELECT column_name || ' ' || column_type FROM (DESCRIBE `+table+`)`); got != w {
			t.Errorf("%s columns:\n got %s\nwant %s", table, got, w)
		}
	}
	if got := query(t, d, `SELECT load_id, schema_name, status, schema_version_hash FROM _dlt_loads ORDER BY load_id`); got != fmt.Sprintf("%s,codefresh,0,h1;%s,codefresh,0,h1;%s,codefresh,0,h1", load1, load2, load3) {
		t.Fatalf("_dlt_loads = %s", got)
	}
	if got := query(t, d, `SELECT version, state, _dlt_load_id, pipeline_name FROM _dlt_pipeline_state ORDER BY version`); got != fmt.Sprintf(`1,{"cursor":"2025-06-01"},%s,%s;2,{"cursor":"2025-06-02"},%s,%s`, load1, pipelineName, load3, pipelineName) {
		t.Fatalf("_dlt_pipeline_state = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM _dlt_version`); got != "1" {
		t.Fatalf("_dlt_version rows = %s", got)
	}
}

func TestLastStateAndStoredSchema(t *testing.T) {
	d := newDest(t)
	ctx := context.Background()
	if st, err := d.LastState(ctx, pipelineName); st != nil || err != nil {
		t.Fatalf("no folder: %s, %v", st, err)
	}
	if s, err := d.StoredSchema(ctx, "codefresh"); s != nil || err != nil {
		t.Fatalf("no folder: %v, %v", s, err)
	}
	if _, err := os.Stat(d.root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading created the folder: %v", err)
	}
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-01T00:00:00Z"}}}}`))
	commit(t, d, pkgFor(s, nil, load2, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}`))
	st, err := d.LastState(ctx, pipelineName)
	if err != nil {
		t.Fatal(err)
	}
	if string(st) != `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}` {
		t.Fatalf("state = %s", st)
	}
	if st, err := d.LastState(ctx, "another_pipeline"); st != nil || err != nil {
		t.Fatalf("other pipeline: %s, %v", st, err)
	}
	got, err := d.StoredSchema(ctx, "codefresh")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("schema round trip: %+v", got)
	}
	// Another dataset under the same root is separate.
	other := New(d.root, Options{Dataset: "elsewhere"})
	if st, err := other.LastState(ctx, pipelineName); st != nil || err != nil {
		t.Fatalf("other dataset: %s, %v", st, err)
	}
}

// A load that fails while writing (a staged value that cannot cast) leaves
// the folder exactly as it was: the same files, byte for byte.
func TestFailedCommitChangesNothing(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	groups := &normalize.Table{Name: "group", Resource: "group", WriteDisposition: "replace",
		Columns: []*normalize.Column{col("n", normalize.Bigint), col("_dlt_id", normalize.Text)}}
	s.Tables = append(s.Tables, groups)
	st := stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil})
	if err := st.Write(groups, []any{int64(10), "g1"}); err != nil {
		t.Fatal(err)
	}
	p := pkgFor(s, st, load1, `{"v":1}`)
	p.Resources = []string{"group", "order"}
	commit(t, d, p)
	before := files(t, d)

	s2 := orderSchema("merge")
	s2.VersionHash = "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, col("extra", normalize.Text))
	s2.Tables = append(s2.Tables, groups, &normalize.Table{Name: "brand_new", Resource: "brand_new", WriteDisposition: "append", Columns: []*normalize.Column{col("x", normalize.Text)}})
	badGroups := *groups
	badGroups.Columns = []*normalize.Column{col("n", normalize.Text), col("_dlt_id", normalize.Text)}
	st2 := stageOrders(t, s2, load2, order{2, "B", []string{"y"}})
	if err := st2.Write(&badGroups, []any{"not a number", "g2"}); err != nil {
		t.Fatal(err)
	}
	p2 := pkgFor(s2, st2, load2, `{"v":2}`)
	p2.Resources = []string{"order", "group"}
	_, err := d.Commit(context.Background(), p2)
	if err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("err = %v", err)
	}
	if after := files(t, d); after != before {
		t.Fatalf("folder changed by a failed commit:\nbefore\n%s\nafter\n%s", before, after)
	}
	if st, _ := d.LastState(context.Background(), pipelineName); string(st) != `{"v":1}` {
		t.Fatalf("state = %s", st)
	}
}

// A process killed at any step of a commit leaves the dataset readable as
// either the old or the new load, never a mix; the next commit tidies up.
func TestCrashAtEveryStep(t *testing.T) {
	steps := []string{"written", "journal", "renamed order", "renamed order__items", "renamed _dlt_version", "renamed _dlt_pipeline_state", "committed", "deleted"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			d := newDest(t)
			s := orderSchema("merge")
			commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"a1"}}, order{2, "b", []string{"b1"}}), load1, `{"v":1}`))
			const oldView = "1,a,a1;2,b,b1"
			s2 := orderSchema("merge")
			s2.VersionHash = "h2"
			d.crashAt = func(at string) bool { return at == step }
			_, err := d.Commit(context.Background(), pkgFor(s2, stageOrders(t, s2, load2, order{2, "B", []string{"B1"}}, order{3, "c", nil}), load2, `{"v":2}`))
			d.crashAt = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("err = %v", err)
			}
			view := query(t, d, `SELECT r.id, r."group", i.value FROM "order" r LEFT JOIN order__items i ON i._dlt_root_id = r._dlt_id ORDER BY ALL`)
			state, err := d.LastState(context.Background(), pipelineName)
			if err != nil {
				t.Fatal(err)
			}
			committed := slices.Index(steps, step) >= slices.Index(steps, "committed")
			wantView, wantState := oldView, `{"v":1}`
			if committed {
				wantView, wantState = "1,a,a1;2,B,B1;3,c,<nil>", `{"v":2}`
			}
			if view != wantView || string(state) != wantState {
				t.Fatalf("after a crash at %q: rows %s, state %s; want %s, %s", step, view, state, wantView, wantState)
			}
			// The next load finishes or undoes the crashed one and leaves no debris.
			commit(t, d, pkgFor(s2, stageOrders(t, s2, load3, order{4, "d", nil}), load3, `{"v":3}`))
			wantView += ";4,d,<nil>"
			if got := query(t, d, `SELECT r.id, r."group", i.value FROM "order" r LEFT JOIN order__items i ON i._dlt_root_id = r._dlt_id ORDER BY ALL`); got != wantView {
				t.Fatalf("after the next load: %s, want %s", got, wantView)
			}
			l, err := Scan(d.root, dataset)
			if err != nil {
				t.Fatal(err)
			}
			live := map[string]bool{filepath.Join(d.root, dataset, lockName): true}
			for _, fs := range l.Tables {
				for _, f := range fs {
					live[f] = true
				}
			}
			var debris []string
			filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() && !live[path] {
					debris = append(debris, path)
				}
				return nil
			})
			if len(debris) > 0 {
				t.Fatalf("files left behind: %v", debris)
			}
		})
	}
}

func TestLockedByAnotherCommit(t *testing.T) {
	d := newDest(t)
	dir := filepath.Join(d.root, dataset)
	// Another holder of the lock: a second Destination on the same folder,
	// stopped in the middle of its commit.
	other := New(d.root, Options{})
	hold, err := other.lock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := orderSchema("append")
	_, err = d.Commit(context.Background(), pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("err = %v", err)
	}
	hold()
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
}

func TestRejectsBadNamesAndRepeatedLoads(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	if _, err := d.Commit(context.Background(), pkgFor(s, nil, load1, "")); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Fatalf("repeated load: %v", err)
	}
	for _, p := range []*destination.Package{pkgFor(s, nil, "../x", ""), {LoadID: load2, PipelineName: pipelineName, Dataset: "../up", Schema: s}} {
		if _, err := d.Commit(context.Background(), p); err == nil || !strings.Contains(err.Error(), "cannot be a") {
			t.Fatalf("bad name accepted: %v", err)
		}
	}
	bad := orderSchema("append")
	bad.Tables[0].Name = "a/b"
	if _, err := d.Commit(context.Background(), pkgFor(bad, nil, load2, "")); err == nil || !strings.Contains(err.Error(), "cannot be a folder name") {
		t.Fatalf("bad table name: %v", err)
	}
}
