package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const (
	pipelineName = "codefresh_pipeline"
	load1        = "1749667187.541553"
	load2        = "1749667290.100000"
	load3        = "1749667391.200000"
)

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
			col("_dlt_load_id", normalize.Text), dltID, col("meta", normalize.JSON),
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
		meta := fmt.Sprintf(`{"n":%d,"tags":["a"]}`, o.id)
		if err := st.Write(root, []any{o.id, o.group, float64(o.id) / 2, loadID, rowID, meta}); err != nil {
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

type fixture struct {
	d       *Destination
	dsn     string
	dataset string
}

func newDest(t *testing.T) *fixture {
	t.Helper()
	dsn := pgtest.DSN(t)
	ds := pgtest.Dataset(t, dsn)
	return &fixture{d: New(Options{Dataset: ds, Credentials: secrets.PostgresOptions{Env: pgtest.Env(dsn)}}), dsn: dsn, dataset: ds}
}

func (f *fixture) pkg(s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	p := &destination.Package{LoadID: loadID, PipelineName: pipelineName, Dataset: f.dataset, Schema: s,
		Stage: st, Resources: []string{"order"}}
	if state != "" {
		p.State = json.RawMessage(state)
	}
	return p
}

func (f *fixture) commit(t *testing.T, p *destination.Package) *destination.CommitStats {
	t.Helper()
	stats, err := f.d.Commit(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// query returns q's rows as "a,b;c,d" (NULL as <nil>), with the dataset on the search path.
func (f *fixture) query(t *testing.T, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path = "`+f.dataset+`"`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
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
		t.Fatalf("%s: %v", q, err)
	}
	return strings.Join(out, ";")
}

// snapshot is every table of the dataset: its columns and all its rows.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(f.query(t, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1 ORDER BY table_name, ordinal_position`, f.dataset))
	for _, name := range strings.Split(f.query(t, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, f.dataset), ";") {
		if name == "" {
			continue
		}
		n := f.query(t, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, f.dataset, name)
		var order []string
		for i := 1; i <= atoi(n); i++ {
			order = append(order, fmt.Sprint(i))
		}
		fmt.Fprintf(&b, "\n%s: %s", name, f.query(t, fmt.Sprintf("SELECT * FROM %s ORDER BY %s", stage.QuoteIdent(name), strings.Join(order, ", "))))
	}
	return b.String()
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func TestReplace(t *testing.T) {
	f := newDest(t)
	s := orderSchema("replace")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"x", "y"}}, order{2, "b", nil}, order{3, "c", []string{"z"}}), load1, ""))
	stats := f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{4, "d", []string{"w"}}, order{5, "e", nil}), load2, ""))
	want := map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 3}, "order__items": {Inserted: 1, Deleted: 3}}
	if !reflect.DeepEqual(stats.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", stats.Tables, want)
	}
	if got := f.query(t, `SELECT id, "group", meta->>'n' FROM "order" ORDER BY id`); got != "4,d,4;5,e,5" {
		t.Fatalf("order = %s", got)
	}
	if got := f.query(t, `SELECT value, _dlt_load_id FROM order__items`); got != "w,"+load2 {
		t.Fatalf("items = %s", got)
	}
}

func TestReplaceWithNoStagedRowsEmptiesTables(t *testing.T) {
	f := newDest(t)
	s := orderSchema("replace")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, ""))
	for _, st := range []*stage.Stage{nil, stageOrders(t, s, load2)} {
		stats := f.commit(t, f.pkg(s, st, load2+fmt.Sprint(st == nil), ""))
		if got := f.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "0,0" {
			t.Fatalf("counts = %s", got)
		}
		if st == nil && (stats.Tables["order"].Deleted != 1 || stats.Tables["order__items"].Deleted != 1) {
			t.Fatalf("stats = %+v", stats.Tables)
		}
	}
}

func TestAppend(t *testing.T) {
	f := newDest(t)
	s := orderSchema("append")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil}), load1, ""))
	stats := f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{1, "a", []string{"x", "y"}}), load2, ""))
	if got := stats.Tables["order"]; got != (destination.TableStats{Inserted: 1}) {
		t.Fatalf("order stats = %+v", got)
	}
	if got := f.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items)`); got != "3,3" {
		t.Fatalf("counts = %s", got)
	}
}

func TestMergeTwiceReplacesRootsAndChildren(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"a1", "a2"}}, order{2, "b", []string{"b1", "b2", "b3"}}), load1, ""))
	stats := f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load2, ""))
	want := map[string]destination.TableStats{"order": {Inserted: 2, Deleted: 1}, "order__items": {Inserted: 2, Deleted: 3}}
	if !reflect.DeepEqual(stats.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", stats.Tables, want)
	}
	f.commit(t, f.pkg(s, stageOrders(t, s, load3, order{2, "B", []string{"B1"}}, order{3, "c", []string{"c1"}}), load3, ""))
	if got := f.query(t, `SELECT id, "group", count(*) OVER (PARTITION BY id) FROM "order" ORDER BY id`); got != "1,a,1;2,B,1;3,c,1" {
		t.Fatalf("order = %s", got)
	}
	got := f.query(t, `SELECT r.id, i.value FROM order__items i JOIN "order" r ON i._dlt_root_id = r._dlt_id ORDER BY 1, 2`)
	if got != "1,a1;1,a2;2,B1;3,c1" {
		t.Fatalf("items = %s", got)
	}
	if got := f.query(t, `SELECT count(*) FROM order__items`); got != "4" {
		t.Fatalf("orphan or duplicate items: %s", got)
	}
}

func TestMergeDuplicateKeysLastWins(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	stats := f.commit(t, f.pkg(s, stageOrders(t, s, load1,
		order{7, "first", []string{"f1", "f2"}}, order{8, "other", nil}, order{7, "second", []string{"s1"}}, order{7, "last", []string{"l1"}}), load1, ""))
	if got := f.query(t, `SELECT id, "group" FROM "order" ORDER BY id`); got != "7,last;8,other" {
		t.Fatalf("order = %s", got)
	}
	if got := f.query(t, `SELECT value FROM order__items`); got != "l1" {
		t.Fatalf("items = %s", got)
	}
	if stats.Tables["order"].Inserted != 2 || stats.Tables["order__items"].Inserted != 1 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
}

func TestMergeWithoutKeyAppends(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	s.Tables[0].Columns[0].PrimaryKey = false
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))
	f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{1, "a", nil}), load2, ""))
	if got := f.query(t, `SELECT count(*) FROM "order"`); got != "2" {
		t.Fatalf("count = %s", got)
	}
}

func TestIncompleteResourceNotLoaded(t *testing.T) {
	f := newDest(t)
	s := orderSchema("append")
	p := f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, "")
	p.Resources = nil
	stats := f.commit(t, p)
	if len(stats.Tables) != 0 {
		t.Fatalf("stats = %+v", stats.Tables)
	}
	// No table of the failed resource: an empty one would read as "no data".
	tables := `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('order', 'order__items')`
	if got := f.query(t, `SELECT (`+tables+`), (SELECT count(*) FROM _dlt_loads)`); got != "0,1" {
		t.Fatalf("tables, loads = %s", got)
	}
	// Once loaded, a later failure leaves the tables and their rows alone.
	f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{2, "b", []string{"y"}}), load2, ""))
	p3 := f.pkg(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, "")
	p3.Resources = nil
	f.commit(t, p3)
	if got := f.query(t, `SELECT (`+tables+`), (SELECT string_agg(id::text, ',') FROM "order"), (SELECT count(*) FROM order__items)`); got != "2,2,1" {
		t.Fatalf("tables, rows = %s", got)
	}
}

func TestSchemaEvolutionAndTypes(t *testing.T) {
	f := newDest(t)
	s := orderSchema("append")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, ""))

	s2 := orderSchema("append")
	s2.Version, s2.VersionHash = 2, "h2"
	s2.Tables[0].Columns = append(s2.Tables[0].Columns, col("select", normalize.Timestamp), col("ok", normalize.Bool))
	st := stageOrders(t, s2, load2)
	ts := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := st.Write(s2.Tables[0], []any{int64(2), "b", 1.0, load2, "r2", `[1,{"a":null}]`, ts, true}); err != nil {
		t.Fatal(err)
	}
	f.commit(t, f.pkg(s2, st, load2, ""))
	if got := f.query(t, `SELECT id, "select", ok, meta::text FROM "order" ORDER BY id`); got != `1,<nil>,<nil>,{"n": 1, "tags": ["a"]};2,2025-06-01T12:00:00Z,true,[1, {"a": null}]` {
		t.Fatalf("rows = %s", got)
	}
	got := f.query(t, `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
		FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'order' ORDER BY ordinal_position`, f.dataset)
	want := `id bigint NOT NULL;group text;we"ird col double precision;_dlt_load_id text;_dlt_id text NOT NULL;meta jsonb;select timestamp with time zone;ok boolean`
	if got != want {
		t.Fatalf("columns\n got %s\nwant %s", got, want)
	}
	if got := f.query(t, `SELECT version, version_hash FROM _dlt_version ORDER BY version`); got != "1,h1;2,h2" {
		t.Fatalf("_dlt_version = %s", got)
	}
}

func TestSystemTablesAsDlt(t *testing.T) {
	f := newDest(t)
	s := orderSchema("append")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, `{"cursor":"2025-06-01"}`))
	f.commit(t, f.pkg(s, stageOrders(t, s, load2, order{2, "b", nil}), load2, `{"cursor":"2025-06-01"}`))
	f.commit(t, f.pkg(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, `{"cursor":"2025-06-02"}`))
	cols := func(table string) string {
		return f.query(t, `SELECT column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, f.dataset, table)
	}
	want := map[string]string{
		destination.LoadsTable: "load_id text NOT NULL;schema_name text;status bigint NOT NULL;inserted_at timestamp with time zone NOT NULL;schema_version_hash text",
		destination.StateTable: "version bigint NOT NULL;engine_version bigint NOT NULL;pipeline_name text NOT NULL;state text NOT NULL;" +
			"created_at timestamp with time zone NOT NULL;version_hash text;_dlt_load_id text NOT NULL;_dlt_id text NOT NULL",
		destination.VersionTable: "version bigint NOT NULL;engine_version bigint NOT NULL;inserted_at timestamp with time zone NOT NULL;" +
			"schema_name text NOT NULL;version_hash text NOT NULL;schema text NOT NULL",
	}
	for table, w := range want {
		if got := cols(table); got != w {
			t.Errorf("%s columns:\n got %s\nwant %s", table, got, w)
		}
	}
	if got := f.query(t, `SELECT load_id, schema_name, status, schema_version_hash FROM _dlt_loads ORDER BY load_id`); got != fmt.Sprintf("%s,codefresh,0,h1;%s,codefresh,0,h1;%s,codefresh,0,h1", load1, load2, load3) {
		t.Fatalf("_dlt_loads = %s", got)
	}
	if got := f.query(t, `SELECT version, state, _dlt_load_id, pipeline_name FROM _dlt_pipeline_state ORDER BY version`); got != fmt.Sprintf(`1,{"cursor":"2025-06-01"},%s,%s;2,{"cursor":"2025-06-02"},%s,%s`, load1, pipelineName, load3, pipelineName) {
		t.Fatalf("_dlt_pipeline_state = %s", got)
	}
	if got := f.query(t, `SELECT count(*) FROM _dlt_version`); got != "1" {
		t.Fatalf("_dlt_version rows = %s", got)
	}
}

func TestLastStateAndStoredSchema(t *testing.T) {
	f := newDest(t)
	ctx := context.Background()
	if st, err := f.d.LastState(ctx, pipelineName); st != nil || err != nil {
		t.Fatalf("no dataset: %s, %v", st, err)
	}
	if s, err := f.d.StoredSchema(ctx, "codefresh"); s != nil || err != nil {
		t.Fatalf("no dataset: %v, %v", s, err)
	}
	s := orderSchema("append")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-01T00:00:00Z"}}}}`))
	f.commit(t, f.pkg(s, nil, load2, `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}`))
	st, err := f.d.LastState(ctx, pipelineName)
	if err != nil {
		t.Fatal(err)
	}
	if string(st) != `{"sources":{"codefresh":{"builds":{"last_value":"2025-06-02T00:00:00Z"}}}}` {
		t.Fatalf("state = %s", st)
	}
	if st, err := f.d.LastState(ctx, "another_pipeline"); st != nil || err != nil {
		t.Fatalf("other pipeline: %s, %v", st, err)
	}
	got, err := f.d.StoredSchema(ctx, "codefresh")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(s)
		t.Fatalf("schema round trip:\n got %s\nwant %s", gj, wj)
	}
}

// A load that fails half-way (a staged value that cannot go into its
// column, after another resource was emptied and a column added) leaves
// the database as it was.
func TestFailedCommitChangesNothing(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	groups := &normalize.Table{Name: "group", Resource: "group", WriteDisposition: "replace",
		Columns: []*normalize.Column{col("n", normalize.Bigint), col("_dlt_id", normalize.Text)}}
	s.Tables = append(s.Tables, groups)
	st := stageOrders(t, s, load1, order{1, "a", []string{"x"}}, order{2, "b", nil})
	if err := st.Write(groups, []any{int64(10), "g1"}); err != nil {
		t.Fatal(err)
	}
	p := f.pkg(s, st, load1, `{"v":1}`)
	p.Resources = []string{"group", "order"}
	f.commit(t, p)
	before := f.snapshot(t)

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
	p2 := f.pkg(s2, st2, load2, `{"v":2}`)
	p2.Resources = []string{"order", "group"}
	_, err := f.d.Commit(context.Background(), p2)
	if err == nil || !strings.Contains(err.Error(), "group") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("commit error: %v", err)
	if after := f.snapshot(t); after != before {
		t.Fatalf("database changed by a failed commit:\nbefore %s\nafter  %s", before, after)
	}
	if st, _ := f.d.LastState(context.Background(), pipelineName); string(st) != `{"v":1}` {
		t.Fatalf("state = %s", st)
	}
}

// Cancelling the context after the rows moved rolls everything back.
func TestCancelledCommitChangesNothing(t *testing.T) {
	f := newDest(t)
	s := orderSchema("replace")
	f.commit(t, f.pkg(s, stageOrders(t, s, load1, order{1, "a", []string{"x"}}), load1, `{"v":1}`))
	before := f.snapshot(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps []string
	f.d.afterStep = func(step string) {
		steps = append(steps, step)
		if step == "rows" {
			cancel()
		}
	}
	_, err := f.d.Commit(ctx, f.pkg(s, stageOrders(t, s, load2, order{2, "b", nil}), load2, `{"v":2}`))
	f.d.afterStep = nil
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(steps, ",") != "tables,rows" {
		t.Fatalf("steps = %v", steps)
	}
	if after := f.snapshot(t); after != before {
		t.Fatalf("database changed by a cancelled commit:\nbefore %s\nafter  %s", before, after)
	}
	f.commit(t, f.pkg(s, stageOrders(t, s, load3, order{3, "c", nil}), load3, `{"v":3}`))
	if st, _ := f.d.LastState(context.Background(), pipelineName); string(st) != `{"v":3}` {
		t.Fatalf("state = %s", st)
	}
}

func TestCommitRejectsBadPackages(t *testing.T) {
	// No server needed: these fail before connecting.
	d := New(Options{Credentials: secrets.PostgresOptions{Settings: secrets.PostgresSettings{Host: "127.0.0.1", Port: 1, Database: "x", User: "u"}}})
	for _, p := range []*destination.Package{nil, {LoadID: load1, PipelineName: pipelineName}, {Schema: orderSchema("append"), PipelineName: pipelineName}} {
		if _, err := d.Commit(context.Background(), p); err == nil || strings.Contains(err.Error(), "connect") {
			t.Fatalf("package %+v: err = %v", p, err)
		}
	}
	s := orderSchema("append")
	s.Tables[0].Columns = append(s.Tables[0].Columns, col(strings.Repeat("c", 64), normalize.Text))
	_, err := d.Commit(context.Background(), &destination.Package{LoadID: load1, PipelineName: pipelineName, Schema: s})
	if err == nil || !strings.Contains(err.Error(), "longer than PostgreSQL's 63-byte limit") {
		t.Fatalf("long name: err = %v", err)
	}
}

// Two loads committing into one dataset at once are serialised by the
// dataset lock: both land, nothing is lost or duplicated.
func TestConcurrentCommits(t *testing.T) {
	f := newDest(t)
	s := orderSchema("merge")
	errs := make(chan error, 2)
	for i, id := range []string{load1, load2} {
		st := stageOrders(t, s, id, order{int64(i + 1), "x", []string{"i"}}, order{10, id, nil})
		go func() {
			_, err := f.d.Commit(context.Background(), f.pkg(s, st, id, ""))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := f.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM order__items), (SELECT count(*) FROM _dlt_loads)`); got != "3,2,2" {
		t.Fatalf("counts = %s", got)
	}
}
