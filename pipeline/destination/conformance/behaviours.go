package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// The behaviours of the suite, each on an empty destination of its own.

const (
	load1 = OrderLoad1
	load2 = OrderLoad2
	load3 = OrderLoad3
)

func testReplace(t *testing.T, r *run) {
	s := OrderSchema("replace")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x", "y"}}, Order{2, "b", nil}, Order{3, "c", []string{"z"}}), load1, ""))
	stats := r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{4, "d", []string{"w"}}, Order{5, "e", nil}), load2, ""))
	sameStats(t, stats, map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 3}, "order__items": {Inserted: 1, Deleted: 3}})
	if got := r.query(t, `SELECT id, "group", meta->>'n' FROM "order" ORDER BY id`); got != "4,d,4;5,e,5" {
		t.Fatalf("order = %s", got)
	}
	if got := r.query(t, `SELECT value, _dlt_load_id FROM order__items`); got != "w,"+load2 {
		t.Fatalf("items = %s", got)
	}
	// Row ids are kept as staged.
	want := fmt.Sprintf("%[1]s-0,%[1]s-0-0,%[1]s-0,%[1]s-0", load2)
	if got := r.query(t, `SELECT i._dlt_root_id, i._dlt_id, i._dlt_parent_id, o._dlt_id FROM order__items i JOIN "order" o ON o.id = 4`); got != want {
		t.Fatalf("ids = %s, want %s", got, want)
	}
}

func testReplaceWithNoStagedRows(t *testing.T, r *run) {
	s := OrderSchema("replace")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x"}}), load1, ""))
	for i, st := range []*stage.Stage{nil, r.stage(t, s, load2)} {
		stats := r.commit(t, r.pkg(s, st, fmt.Sprintf("%s%d", load2, i), ""))
		if got := r.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "0,0" {
			t.Fatalf("counts = %s", got)
		}
		if st == nil && (stats.Tables["order"].Deleted != 1 || stats.Tables["order__items"].Deleted != 1) {
			t.Fatalf("stats = %+v", stats.Tables)
		}
	}
}

func testAppend(t *testing.T, r *run) {
	s := OrderSchema("append")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x"}}, Order{2, "b", nil}), load1, ""))
	stats := r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{1, "a", []string{"x", "y"}}), load2, ""))
	if got := stats.Tables["order"]; got != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("order stats = %+v", got)
	}
	if got := r.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "3,3" {
		t.Fatalf("counts = %s", got)
	}
}

func testMergeTwice(t *testing.T, r *run) {
	s := OrderSchema("merge")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"a1", "a2"}}, Order{2, "b", []string{"b1", "b2", "b3"}}), load1, ""))
	stats := r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{2, "B", []string{"B1"}}, Order{3, "c", []string{"c1"}}), load2, ""))
	sameStats(t, stats, map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 1}, "order__items": {Inserted: 2, Deleted: 3}})
	// The same package again changes nothing but load ids.
	r.commit(t, r.pkg(s, r.stage(t, s, load3, Order{2, "B", []string{"B1"}}, Order{3, "c", []string{"c1"}}), load3, ""))
	if got := r.query(t, `SELECT id, "group", count(*) OVER (PARTITION BY id) FROM "order" ORDER BY id`); got != "1,a,1;2,B,1;3,c,1" {
		t.Fatalf("order = %s", got)
	}
	got := r.query(t, `SELECT r.id, i.value FROM order__items i JOIN "order" r ON i._dlt_root_id = r._dlt_id ORDER BY 1, 2`)
	if got != "1,a1;1,a2;2,B1;3,c1" {
		t.Fatalf("items = %s", got)
	}
	if got := r.query(t, `SELECT count(*) FROM order__items`); got != "4" {
		t.Fatalf("orphan or duplicate items: %s", got)
	}
}

func testMergeDuplicateKeys(t *testing.T, r *run) {
	s := OrderSchema("merge")
	stats := r.commit(t, r.pkg(s, r.stage(t, s, load1,
		Order{7, "first", []string{"f1", "f2"}}, Order{8, "other", nil}, Order{7, "second", []string{"s1"}}, Order{7, "last", []string{"l1"}}), load1, ""))
	if got := r.query(t, `SELECT id, "group" FROM "order" ORDER BY id`); got != "7,last;8,other" {
		t.Fatalf("order = %s", got)
	}
	if got := r.query(t, `SELECT value FROM order__items`); got != "l1" {
		t.Fatalf("items = %s", got)
	}
	if stats.Tables["order"].Inserted != 2 || stats.Tables["order__items"].Inserted != 1 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
}

func testMergeWithoutKey(t *testing.T, r *run) {
	s := OrderSchema("merge")
	s.Tables[0].Columns[0].PrimaryKey = false
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", nil}), load1, ""))
	r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{1, "a", nil}), load2, ""))
	if got := r.query(t, `SELECT count(*) FROM "order"`); got != "2" {
		t.Fatalf("count = %s", got)
	}
}

func testIncompleteResource(t *testing.T, r *run) {
	s := OrderSchema("append")
	p := r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x"}}), load1, "")
	p.Resources = nil
	stats := r.commit(t, p)
	if len(stats.Tables) != 0 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
	// A first load whose resource failed leaves none of its tables: an
	// empty one would read as "no data".
	if got := r.dataTables(t); got != "" {
		t.Fatalf("tables after a failed first load = %s", got)
	}
	if got := r.query(t, `SELECT count(*) FROM _dlt_loads`); got != "1" {
		t.Fatalf("loads = %s", got)
	}
	// Once loaded, a later failure leaves the tables and their rows alone.
	r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{2, "b", []string{"y"}}), load2, ""))
	p3 := r.pkg(s, r.stage(t, s, load3, Order{3, "c", nil}), load3, "")
	p3.Resources = nil
	r.commit(t, p3)
	if got := r.dataTables(t); got != "order,order__items" {
		t.Fatalf("tables = %s", got)
	}
	if got := r.query(t, `SELECT (SELECT string_agg(CAST(id AS VARCHAR), ',') FROM "order"), (SELECT count(*) FROM order__items)`); got != "2,1" {
		t.Fatalf("rows = %s", got)
	}
}

func testSchemaEvolution(t *testing.T, r *run) {
	s := OrderSchema("append")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x"}}), load1, ""))

	s2 := OrderSchema("append")
	s2.Version, s2.VersionHash = 2, "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, Col("select", normalize.Timestamp), Col("ok", normalize.Bool))
	s2.Tables[1].Columns = append(s2.Tables[1].Columns, Col("late", normalize.Bigint))
	st := r.stage(t, s2, load2)
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Write(s2.Tables[0], []any{int64(2), "b", 1.0, load2, "r2", `[1,{"a":null}]`, ts, true}); err != nil {
		t.Fatal(err)
	}
	r.commit(t, r.pkg(s2, st, load2, ""))
	if got := r.query(t, `SELECT id, "select", ok FROM "order" ORDER BY id`); got != "1,<nil>,<nil>;2,2025-06-01T12:00:00Z,true" {
		t.Fatalf("rows = %s", got)
	}
	// JSON documents come back as the documents staged.
	res := r.result(t, `SELECT meta FROM "order" ORDER BY id`)
	if len(res.Rows) != 2 || document(t, res.Rows[0][0]) != `{"n":1,"tags":["a"]}` || document(t, res.Rows[1][0]) != `[1,{"a":null}]` {
		t.Fatalf("meta = %v", res.Rows)
	}
	want := r.want("id bigint!", "group text", `we"ird col double`, "_dlt_load_id text", "_dlt_id text!", "meta json", "select timestamp", "ok bool")
	if got := r.columns(t, "order"); got != want {
		t.Fatalf("columns\n got %s\nwant %s", got, want)
	}
	// A child table with no new rows still shows its new column.
	if got := r.query(t, `SELECT count(late), count(*) FROM order__items`); got != "0,1" {
		t.Fatalf("order__items = %s", got)
	}
	if got := r.query(t, `SELECT version, version_hash FROM _dlt_version ORDER BY version`); got != "1,h1;2,h2" {
		t.Fatalf("_dlt_version = %s", got)
	}
}

func testSystemTables(t *testing.T, r *run) {
	s := OrderSchema("append")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", nil}), load1, `{"cursor":"2025-06-01"}`))
	r.commit(t, r.pkg(s, r.stage(t, s, load2, Order{2, "b", nil}), load2, `{"cursor":"2025-06-01"}`))
	r.commit(t, r.pkg(s, r.stage(t, s, load3, Order{3, "c", nil}), load3, `{"cursor":"2025-06-02"}`))
	want := map[string]string{
		destination.LoadsTable: r.want("load_id text!", "schema_name text", "status bigint!", "inserted_at timestamp!", "schema_version_hash text"),
		destination.StateTable: r.want("version bigint!", "engine_version bigint!", "pipeline_name text!", "state text!",
			"created_at timestamp!", "version_hash text", "_dlt_load_id text!", "_dlt_id text!"),
		destination.VersionTable: r.want("version bigint!", "engine_version bigint!", "inserted_at timestamp!",
			"schema_name text!", "version_hash text!", "schema text!"),
	}
	for table, w := range want {
		if got := r.columns(t, table); got != w {
			t.Errorf("%s columns:\n got %s\nwant %s", table, got, w)
		}
	}
	if got := r.query(t, `SELECT load_id, schema_name, status, schema_version_hash FROM _dlt_loads ORDER BY load_id`); got != fmt.Sprintf("%s,codefresh,0,h1;%s,codefresh,0,h1;%s,codefresh,0,h1", load1, load2, load3) {
		t.Fatalf("_dlt_loads = %s", got)
	}
	// Unchanged state writes no row; a changed one bumps the version.
	if got := r.query(t, `SELECT version, state, _dlt_load_id, pipeline_name FROM _dlt_pipeline_state ORDER BY version`); got != fmt.Sprintf(`1,{"cursor":"2025-06-01"},%s,%s;2,{"cursor":"2025-06-02"},%s,%s`, load1, Pipeline, load3, Pipeline) {
		t.Fatalf("_dlt_pipeline_state = %s", got)
	}
	if got := r.query(t, `SELECT count(*) FROM _dlt_version`); got != "1" {
		t.Fatalf("_dlt_version rows = %s", got)
	}
	// Data tables carry NOT NULL where the schema says so, as dlt's do.
	if got, w := r.columns(t, "order"), r.want("id bigint!", "group text"); !strings.HasPrefix(got, w+";") {
		t.Fatalf("order columns = %s, want %s...", got, w)
	}
}

func testLastStateAndStoredSchema(t *testing.T, r *run) {
	ctx := context.Background()
	if st, err := r.Dest.LastState(ctx, Pipeline); st != nil || err != nil {
		t.Fatalf("nothing loaded: %s, %v", st, err)
	}
	if s, err := r.Dest.StoredSchema(ctx, SchemaName); s != nil || err != nil {
		t.Fatalf("nothing loaded: %v, %v", s, err)
	}
	r.notCreated(t, "reading")
	s := OrderSchema("append")
	if r.Other != nil {
		// The same place holding another dataset only.
		other := r.Other("elsewhere")
		op := OrderPackage("", s, nil, load1, `{"x":1}`)
		MustCommit(t, other, op)
		if st, err := other.LastState(ctx, Pipeline); err != nil || string(st) != `{"x":1}` {
			t.Fatalf("elsewhere: %s, %v", st, err)
		}
		if st, err := r.Dest.LastState(ctx, Pipeline); st != nil || err != nil {
			t.Fatalf("no dataset: %s, %v", st, err)
		}
	}

	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", nil}), load1, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-01T00:00:00Z"}}}}`))
	r.commit(t, r.pkg(s, nil, load2, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}`))
	st, err := r.Dest.LastState(ctx, Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	if string(st) != `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}` {
		t.Fatalf("state = %s", st)
	}
	if st, err := r.Dest.LastState(ctx, "another_pipeline"); st != nil || err != nil {
		t.Fatalf("other pipeline: %s, %v", st, err)
	}
	got, err := r.Dest.StoredSchema(ctx, SchemaName)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(s)
		t.Fatalf("schema round trip:\n got %s\nwant %s", gj, wj)
	}
	if s, err := r.Dest.StoredSchema(ctx, "nope"); s != nil || err != nil {
		t.Fatalf("unknown schema: %v, %v", s, err)
	}
	if r.Other != nil {
		// Another dataset of the same place is separate.
		if st, err := r.Other("elsewhere_too").LastState(ctx, Pipeline); st != nil || err != nil {
			t.Fatalf("other dataset: %s, %v", st, err)
		}
	}
}

// A load that fails half-way (a staged value that cannot go into its
// column, after another resource was emptied and a column and a table
// added) leaves the destination as it was.
func testFailedCommit(t *testing.T, r *run) {
	s := OrderSchema("merge")
	groups := &normalize.Table{Name: "group", Resource: "group", WriteDisposition: "replace",
		Columns: []*normalize.Column{Col("n", normalize.Bigint), Col("_dlt_id", normalize.Text)}}
	s.Tables = append(s.Tables, groups)
	st := r.stage(t, s, load1, Order{1, "a", []string{"x"}}, Order{2, "b", nil})
	if err := st.Write(groups, []any{int64(10), "g1"}); err != nil {
		t.Fatal(err)
	}
	p := r.pkg(s, st, load1, `{"v":1}`)
	p.Resources = []string{"group", "order"}
	r.commit(t, p)
	before := r.state(t)

	// Load 2: "order" gains a column and merges a row; then "group" is
	// emptied and its staged n, text in the stage, does not fit BIGINT.
	s2 := OrderSchema("merge")
	s2.VersionHash = "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, Col("extra", normalize.Text))
	s2.Tables = append(s2.Tables, groups, &normalize.Table{Name: "brand_new", Resource: "brand_new", WriteDisposition: "append",
		Columns: []*normalize.Column{Col("x", normalize.Text)}})
	badGroups := *groups
	badGroups.Columns = []*normalize.Column{Col("n", normalize.Text), Col("_dlt_id", normalize.Text)}
	st2 := r.stage(t, s2, load2, Order{2, "B", []string{"y"}})
	if err := st2.Write(&badGroups, []any{"not a number", "g2"}); err != nil {
		t.Fatal(err)
	}
	p2 := r.pkg(s2, st2, load2, `{"v":2}`)
	p2.Resources = []string{"order", "group"}
	_, err := r.Dest.Commit(context.Background(), p2)
	if err == nil || !strings.Contains(err.Error(), r.f.CastError) {
		t.Fatalf("err = %v, want it to name %q", err, r.f.CastError)
	}
	t.Logf("commit error: %v", err)
	if after := r.state(t); after != before {
		t.Fatalf("changed by a failed commit:\nbefore\n%s\nafter\n%s", before, after)
	}
	if st, _ := r.Dest.LastState(context.Background(), Pipeline); string(st) != `{"v":1}` {
		t.Fatalf("state = %s", st)
	}
}

// Cancelling the context after the rows moved but before the system tables
// are written rolls everything back, and the destination still takes loads.
func testCancelledCommit(t *testing.T, r *run) {
	if r.AfterStep == nil {
		t.Skip(r.f.Name + " has no commit steps to stop between")
	}
	s := OrderSchema("replace")
	r.commit(t, r.pkg(s, r.stage(t, s, load1, Order{1, "a", []string{"x"}}), load1, `{"v":1}`))
	before := r.state(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps []string
	r.AfterStep(func(step string) {
		steps = append(steps, step)
		if step == "rows" {
			cancel()
		}
	})
	_, err := r.Dest.Commit(ctx, r.pkg(s, r.stage(t, s, load2, Order{2, "b", nil}), load2, `{"v":2}`))
	r.AfterStep(nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(steps, ",") != "tables,rows" {
		t.Fatalf("steps = %v", steps)
	}
	if after := r.state(t); after != before {
		t.Fatalf("changed by a cancelled commit:\nbefore\n%s\nafter\n%s", before, after)
	}
	r.commit(t, r.pkg(s, r.stage(t, s, load3, Order{3, "c", nil}), load3, `{"v":3}`))
	if st, _ := r.Dest.LastState(context.Background(), Pipeline); string(st) != `{"v":3}` {
		t.Fatalf("state = %s", st)
	}
}

func testRejectsIncompletePackage(t *testing.T, r *run) {
	for _, p := range []*destination.Package{nil, {LoadID: load1, PipelineName: Pipeline}, {Schema: OrderSchema("append"), PipelineName: Pipeline}} {
		if _, err := r.Dest.Commit(context.Background(), p); err == nil {
			t.Fatalf("package %+v accepted", p)
		}
	}
	r.notCreated(t, "a rejected package")
}
