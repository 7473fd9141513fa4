package duckdb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

const (
	lockHelperEnv = "CFMCP_DUCKDB_LOCK_HELPER"
	pipelineName  = "codefresh_pipeline"
	testDataset   = "codefresh_data"
)

// holdLock opens path read-write, says so, and holds it until stdin closes.
func holdLock(path string) {
	db, err := duckfile.Open(context.Background(), path, false, time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer db.Close()
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

func col(name string, t normalize.DataType) *normalize.Column {
	return &normalize.Column{Name: name, DataType: t, Nullable: true}
}

// orderSchema has a root table named by a reserved word, with odd column
// names, and a child table of list items.
func orderSchema(disposition string) *normalize.Schema {
	id := col("id", normalize.Bigint)
	id.PrimaryKey = true
	id.Nullable = false
	dltID := &normalize.Column{Name: "_dlt_id", DataType: normalize.Text}
	return &normalize.Schema{Name: "codefresh", Version: 1, VersionHash: "h1", Tables: []*normalize.Table{
		{Name: "order", Resource: "order", WriteDisposition: disposition, Columns: []*normalize.Column{
			id, col("group", normalize.Text), col(`we"ird col`, normalize.Double),
			col("_dlt_load_id", normalize.Text), dltID,
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

// stageOrders stages orders (in this order) for schema s and load loadID.
func stageOrders(t *testing.T, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	return stageOrdersIn(t, "main", s, loadID, orders...)
}

// stageOrdersIn is stageOrders with the staging tables in schema (the
// dataset's: a first commit then moves the stage into place).
func stageOrdersIn(t *testing.T, schema string, s *normalize.Schema, loadID string, orders ...order) *stage.Stage {
	t.Helper()
	st, err := stage.OpenIn(context.Background(), t.TempDir(), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, child := s.Tables[0], s.Tables[1]
	for n, o := range orders {
		rowID := fmt.Sprintf("%s-%d", loadID, n)
		if err := st.Write(root, []any{o.id, o.group, float64(o.id) / 2, loadID, rowID}); err != nil {
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

func pkgFor(s *normalize.Schema, st *stage.Stage, loadID string, state string) *destination.Package {
	p := &destination.Package{LoadID: loadID, PipelineName: pipelineName, Dataset: testDataset, Schema: s,
		Stage: st, Resources: []string{"order"}}
	if state != "" {
		p.State = json.RawMessage(state)
	}
	return p
}

func newDest(t *testing.T) *Destination {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "codefresh.duckdb"), Options{LockWait: 500 * time.Millisecond})
}

func commit(t *testing.T, d *Destination, p *destination.Package) *destination.CommitStats {
	t.Helper()
	stats, err := d.Commit(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// query returns q's rows as "a,b;c,d" (NULL as <nil>), opening the file read-only.
func query(t *testing.T, d *Destination, q string, args ...any) string {
	t.Helper()
	db, err := duckfile.Open(context.Background(), d.path, true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
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
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, ","))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ";")
}

// snapshot is every table of the file: its columns and all its rows.
func snapshot(t *testing.T, d *Destination) string {
	t.Helper()
	tables := query(t, d, `SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY ALL`)
	var b strings.Builder
	b.WriteString(query(t, d, `SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() ORDER BY ALL`))
	for _, name := range strings.Split(tables, ";") {
		if name == "" {
			continue
		}
		s, tbl, _ := strings.Cut(name, ".")
		fmt.Fprintf(&b, "\n%s: %s", name, query(t, d, fmt.Sprintf("SELECT * FROM %s ORDER BY ALL", qualify(s, tbl))))
	}
	return b.String()
}

const (
	load1 = "1749667187.541553"
	load2 = "1749667290.100000"
	load3 = "1749667391.200000"
)

func TestReplace(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x", "y"}}, order{2, "b", nil}, order{3, "c", []string{"z"}}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{4, "d", []string{"w"}}, order{5, "e", nil}), load2, ""))
	want := map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 3}, "order__items": {Inserted: 1, Deleted: 3}}
	if !reflect.DeepEqual(stats.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", stats.Tables, want)
	}
	if got := query(t, d, `SELECT id, "group" FROM codefresh_data."order" ORDER BY id`); got != "4,d;5,e" {
		t.Fatalf("order = %s", got)
	}
	if got := query(t, d, `SELECT value, _dlt_load_id FROM codefresh_data.order__items`); got != "w,"+load2 {
		t.Fatalf("items = %s", got)
	}
}

func TestReplaceWithNoStagedRowsEmptiesTables(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, ""))
	for _, st := range []*stage.Stage{nil, stageOrders(t, s, load2)} {
		stats := commit(t, d, pkgFor(s, st, load2+fmt.Sprint(st == nil), ""))
		if got := query(t, d, `SELECT (SELECT count(*) FROM codefresh_data."order"), (SELECT count(*) FROM codefresh_data.order__items)`); got != "0,0" {
			t.Fatalf("counts = %s", got)
		}
		if st == nil && (stats.Tables["order"].Deleted != 1 || stats.Tables["order__items"].Deleted != 1) {
			t.Fatalf("stats = %+v", stats.Tables)
		}
	}
}

func TestAppend(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil}), load1, ""))
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{1, "a", []string{"x", "y"}}), load2, ""))
	if got := stats.Tables["order"]; got != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("order stats = %+v", got)
	}
	if got := query(t, d, `SELECT (SELECT count(*) FROM codefresh_data."order"), (SELECT count(*) FROM codefresh_data.order__items)`); got != "3,3" {
		t.Fatalf("counts = %s", got)
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
	// The same package again changes nothing but load ids.
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load3, ""))
	if got := query(t, d, `SELECT id, "group", count(*) OVER (PARTITION BY id) FROM codefresh_data."order" ORDER BY id`); got != "1,a,1;2,B,1;3,c,1" {
		t.Fatalf("order = %s", got)
	}
	got := query(t, d, `SELECT r.id, i.value FROM codefresh_data.order__items i
		JOIN codefresh_data."order" r ON i._dlt_root_id = r._dlt_id ORDER BY ALL`)
	if got != "1,a1;1,a2;2,B1;3,c1" {
		t.Fatalf("items = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM codefresh_data.order__items`); got != "4" {
		t.Fatalf("orphan or duplicate items: %s", got)
	}
}

func TestMergeDuplicateKeysLastWins(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	stats := commit(t, d, pkgFor(s, stageOrders(t, s, load1,
		order{7, "first", []string{"f1", "f2"}}, order{8, "other", nil}, order{7, "second", []string{"s1"}}, order{7, "last", []string{"l1"}}), load1, ""))
	if got := query(t, d, `SELECT id, "group" FROM codefresh_data."order" ORDER BY id`); got != "7,last;8,other" {
		t.Fatalf("order = %s", got)
	}
	if got := query(t, d, `SELECT value FROM codefresh_data.order__items`); got != "l1" {
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
	if got := query(t, d, `SELECT count(*) FROM codefresh_data."order"`); got != "2" {
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
	// A first load whose resource failed leaves none of its tables: an
	// empty one would read as "no data".
	tables := `SELECT string_agg(table_name, ',' ORDER BY table_name) FROM duckdb_tables() WHERE schema_name = 'codefresh_data' AND table_name NOT LIKE '\_dlt%' ESCAPE '\'`
	if got := query(t, d, tables); got != "<nil>" {
		t.Fatalf("tables after a failed first load = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM codefresh_data._dlt_loads`); got != "1" {
		t.Fatalf("loads = %s", got)
	}
	// Once loaded, a later failure leaves the tables and their rows alone.
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", []string{"y"}}), load2, ""))
	p3 := pkgFor(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, "")
	p3.Resources = nil
	commit(t, d, p3)
	if got := query(t, d, tables); got != "order,order__items" {
		t.Fatalf("tables = %s", got)
	}
	if got := query(t, d, `SELECT (SELECT string_agg(id::VARCHAR, ',') FROM codefresh_data."order"), (SELECT count(*) FROM codefresh_data.order__items)`); got != "2,1" {
		t.Fatalf("rows = %s", got)
	}
}

func TestSchemaEvolution(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))

	s2 := orderSchema("append")
	s2.Version, s2.VersionHash = 2, "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, col("select", normalize.Timestamp))
	st := stageOrders(t, s2, load2)
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Write(s2.Tables[0], []any{int64(2), "b", 1.0, load2, "r2", ts}); err != nil {
		t.Fatal(err)
	}
	commit(t, d, pkgFor(s2, st, load2, ""))
	got := query(t, d, `SELECT id, "select" FROM codefresh_data."order" ORDER BY id`)
	if want := "1,<nil>;2," + fmt.Sprint(ts.Local()); got != want {
		t.Fatalf("rows = %s, want %s", got, want)
	}
	if got := query(t, d, `SELECT data_type FROM duckdb_columns() WHERE table_name = 'order' AND column_name = 'select'`); got != "TIMESTAMP WITH TIME ZONE" {
		t.Fatalf("type = %s", got)
	}
	if got := query(t, d, `SELECT version, version_hash FROM codefresh_data._dlt_version ORDER BY version`); got != "1,h1;2,h2" {
		t.Fatalf("_dlt_version = %s", got)
	}
}

func TestSystemTablesAsDlt(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, `{"cursor":"2025-06-01"}`))
	commit(t, d, pkgFor(s, stageOrders(t, s, load2, order{2, "b", nil}), load2, `{"cursor":"2025-06-01"}`))
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, `{"cursor":"2025-06-02"}`))
	cols := func(table string) string {
		return query(t, d, `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable THEN '' ELSE ' NOT NULL' END
			FROM duckdb_columns() WHERE schema_name = 'codefresh_data' AND table_name = ? ORDER BY column_index`, table)
	}
	want := map[string]string{
		loadsTable: "load_id VARCHAR NOT NULL;schema_name VARCHAR;status BIGINT NOT NULL;inserted_at TIMESTAMP WITH TIME ZONE NOT NULL;schema_version_hash VARCHAR",
		stateTable: "version BIGINT NOT NULL;engine_version BIGINT NOT NULL;pipeline_name VARCHAR NOT NULL;state VARCHAR NOT NULL;" +
			"created_at TIMESTAMP WITH TIME ZONE NOT NULL;version_hash VARCHAR;_dlt_load_id VARCHAR NOT NULL;_dlt_id VARCHAR NOT NULL",
		versionTable: "version BIGINT NOT NULL;engine_version BIGINT NOT NULL;inserted_at TIMESTAMP WITH TIME ZONE NOT NULL;" +
			"schema_name VARCHAR NOT NULL;version_hash VARCHAR NOT NULL;schema VARCHAR NOT NULL",
	}
	for table, w := range want {
		if got := cols(table); got != w {
			t.Errorf("%s columns:\n got %s\nwant %s", table, got, w)
		}
	}
	if got := query(t, d, `SELECT load_id, schema_name, status, schema_version_hash FROM codefresh_data._dlt_loads ORDER BY load_id`); got != fmt.Sprintf("%s,codefresh,0,h1;%s,codefresh,0,h1;%s,codefresh,0,h1", load1, load2, load3) {
		t.Fatalf("_dlt_loads = %s", got)
	}
	// Unchanged state writes no row; a changed one bumps the version.
	if got := query(t, d, `SELECT version, state, _dlt_load_id, pipeline_name FROM codefresh_data._dlt_pipeline_state ORDER BY version`); got != fmt.Sprintf(`1,{"cursor":"2025-06-01"},%s,%s;2,{"cursor":"2025-06-02"},%s,%s`, load1, pipelineName, load3, pipelineName) {
		t.Fatalf("_dlt_pipeline_state = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM codefresh_data._dlt_version`); got != "1" {
		t.Fatalf("_dlt_version rows = %s", got)
	}
	// Data tables carry NOT NULL where the schema says so, as dlt's do.
	if got := cols("order"); !strings.HasPrefix(got, "id BIGINT NOT NULL;group VARCHAR;") {
		t.Fatalf("order columns = %s", got)
	}
}

func TestLastStateAndStoredSchema(t *testing.T) {
	d := newDest(t)
	ctx := context.Background()
	if st, err := d.LastState(ctx, pipelineName); st != nil || err != nil {
		t.Fatalf("no file: %s, %v", st, err)
	}
	if s, err := d.StoredSchema(ctx, "codefresh"); s != nil || err != nil {
		t.Fatalf("no file: %v, %v", s, err)
	}
	if _, err := os.Stat(d.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reading created the file: %v", err)
	}
	// A file holding another dataset only.
	other := New(d.path, Options{Dataset: "elsewhere"})
	s := orderSchema("append")
	op := pkgFor(s, nil, load1, `{"x":1}`)
	op.Dataset = ""
	commit(t, other, op)
	if got := query(t, d, `SELECT count(*) FROM elsewhere._dlt_loads`); got != "1" {
		t.Fatalf("elsewhere._dlt_loads = %s", got)
	}
	if st, err := d.LastState(ctx, pipelineName); st != nil || err != nil {
		t.Fatalf("no dataset: %s, %v", st, err)
	}

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
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(s)
		t.Fatalf("schema round trip:\n got %s\nwant %s", gj, wj)
	}
	if s, err := d.StoredSchema(ctx, "nope"); s != nil || err != nil {
		t.Fatalf("unknown schema: %v, %v", s, err)
	}
}

// A load that fails half-way (a staged value that cannot cast, after another
// resource was emptied and a column added) leaves the file as it was.
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
	before := snapshot(t, d)

	// Load 2: "order" gains a column and merges a row; then "group" is
	// emptied and its staged n, text in the stage, fails to cast to BIGINT.
	s2 := orderSchema("merge")
	s2.VersionHash = "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, col("extra", normalize.Text))
	badGroups := *groups
	badGroups.Columns = []*normalize.Column{col("n", normalize.Text), col("_dlt_id", normalize.Text)}
	s2.Tables = append(s2.Tables, groups)
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
	if after := snapshot(t, d); after != before {
		t.Fatalf("file changed by a failed commit:\nbefore %s\nafter  %s", before, after)
	}
	if st, _ := d.LastState(context.Background(), pipelineName); string(st) != `{"v":1}` {
		t.Fatalf("state = %s", st)
	}
}

// Cancelling the context after the rows moved but before the system tables
// are written rolls everything back.
func TestCancelledCommitChangesNothing(t *testing.T) {
	d := newDest(t)
	s := orderSchema("replace")
	commit(t, d, pkgFor(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, `{"v":1}`))
	before := snapshot(t, d)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps []string
	d.afterStep = func(step string) {
		steps = append(steps, step)
		if step == "rows" {
			cancel()
		}
	}
	_, err := d.Commit(ctx, pkgFor(s, stageOrders(t, s, load2, order{2, "b", nil}), load2, `{"v":2}`))
	d.afterStep = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(steps, ",") != "tables,rows" {
		t.Fatalf("steps = %v", steps)
	}
	if after := snapshot(t, d); after != before {
		t.Fatalf("file changed by a cancelled commit:\nbefore %s\nafter  %s", before, after)
	}
	// And the file is usable afterwards.
	commit(t, d, pkgFor(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, `{"v":3}`))
	if st, _ := d.LastState(context.Background(), pipelineName); string(st) != `{"v":3}` {
		t.Fatalf("state = %s", st)
	}
}

func TestOddIdentifiers(t *testing.T) {
	d := New(filepath.Join(t.TempDir(), "it's.duckdb"), Options{Dataset: "my-data"})
	s := orderSchema("merge")
	p := pkgFor(s, stageOrders(t, s, load1, order{1, "g", []string{"x"}}), load1, `{}`)
	p.Dataset = "my-data"
	commit(t, d, p)
	if got := query(t, d, `SELECT "group", "we""ird col" FROM "my-data"."order"`); got != "g,0.5" {
		t.Fatalf("rows = %s", got)
	}
	if st, err := d.LastState(context.Background(), pipelineName); err != nil || string(st) != `{}` {
		t.Fatalf("state = %s, %v", st, err)
	}
}

func TestCommitRejectsIncompletePackage(t *testing.T) {
	d := newDest(t)
	for _, p := range []*destination.Package{nil, {LoadID: load1, PipelineName: pipelineName}, {Schema: orderSchema("append"), PipelineName: pipelineName}} {
		if _, err := d.Commit(context.Background(), p); err == nil {
			t.Fatalf("package %+v accepted", p)
		}
	}
	if _, err := os.Stat(d.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a rejected package created the file")
	}
}

// Another process holding the file: Commit and LastState give up after the
// wait with a *duckfile.LockedError that names the holder's PID.
func TestLockedByAnotherProcess(t *testing.T) {
	d := newDest(t)
	s := orderSchema("append")
	commit(t, d, pkgFor(s, nil, load1, `{"v":1}`))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+d.path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	pid := fmt.Sprintf("PID %d", cmd.Process.Pid)

	start := time.Now()
	_, err = d.Commit(context.Background(), pkgFor(s, stageOrders(t, s, load2, order{1, "a", nil}), load2, `{"v":2}`))
	var locked *duckfile.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("commit err = %v, want *duckfile.LockedError", err)
	}
	if !strings.Contains(locked.Holder, pid) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("error does not name %s: %v", pid, err)
	}
	t.Logf("commit error: %v", err)
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %s for a 500ms lock wait", waited)
	}
	_, err = d.LastState(context.Background(), pipelineName)
	if !errors.As(err, &locked) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("LastState err = %v", err)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	if st, err := d.LastState(context.Background(), pipelineName); err != nil || string(st) != `{"v":1}` {
		t.Fatalf("after release: %s, %v", st, err)
	}
}
