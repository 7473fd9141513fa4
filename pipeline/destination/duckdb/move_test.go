package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// layout is the dataset's tables and columns in table order with types and
// NOT NULL, its data rows, and its system rows without times and random ids.
func layout(t *testing.T, d *Destination) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(query(t, d, `SELECT schema_name, table_name, column_index, column_name, data_type, is_nullable
		FROM duckdb_columns() WHERE NOT internal ORDER BY schema_name, table_name, column_index`))
	for _, name := range strings.Split(query(t, d, `SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1`, testDataset), ";") {
		q := "SELECT * FROM " + qualify(testDataset, name) + " ORDER BY ALL"
		switch name {
		case loadsTable:
			q = "SELECT load_id, schema_name, status, schema_version_hash FROM " + qualify(testDataset, name) + " ORDER BY ALL"
		case stateTable:
			q = "SELECT version, engine_version, pipeline_name, state, version_hash, _dlt_load_id FROM " + qualify(testDataset, name) + " ORDER BY ALL"
		case versionTable:
			q = `SELECT version, engine_version, schema_name, version_hash, "schema" FROM ` + qualify(testDataset, name) + " ORDER BY ALL"
		}
		fmt.Fprintf(&b, "\n%s: %s", name, query(t, d, q))
	}
	return b.String()
}

// A first load staged in the dataset's schema is moved into place, and the
// file is the one the copying commit makes from the same rows: tables,
// columns, types, NOT NULL, rows, system rows and stats.
func TestMovedCommitAsCopied(t *testing.T) {
	orders := []order{{7, "first", []string{"f1", "f2"}}, {8, "other", nil}, {7, "second", []string{"s1"}}, {7, "last", []string{"l1"}}, {9, "x", []string{"a", "b"}}}
	cases := map[string]func(s *normalize.Schema, p *destination.Package){
		"merge":   func(s *normalize.Schema, p *destination.Package) {},
		"replace": func(s *normalize.Schema, p *destination.Package) { s.Tables[0].WriteDisposition = "replace" },
		"append":  func(s *normalize.Schema, p *destination.Package) { s.Tables[0].WriteDisposition = "append" },
		"merge without key": func(s *normalize.Schema, p *destination.Package) {
			s.Tables[0].Columns[0].PrimaryKey = false
		},
		"incomplete resource": func(s *normalize.Schema, p *destination.Package) { p.Resources = nil },
		"columns and a table the stage lacks": func(s *normalize.Schema, p *destination.Package) {
			s.Tables[0].Columns = append(s.Tables[0].Columns, col("later", normalize.Text))
			s.Tables = append(s.Tables, &normalize.Table{Name: "empty", Resource: "empty", WriteDisposition: "replace",
				Columns: []*normalize.Column{col("n", normalize.Bigint), {Name: "_dlt_id", DataType: normalize.Text}}})
			p.Resources = append(p.Resources, "empty")
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			var snaps []string
			var stats []*destination.CommitStats
			for _, schema := range []string{"main", testDataset} {
				d := newDest(t)
				s := orderSchema("merge")
				st := stageOrdersIn(t, schema, s, load1, orders...)
				p := pkgFor(s, st, load1, `{"v":1}`)
				change(s, p)
				stats = append(stats, commit(t, d, p))
				if _, err := os.Stat(st.Path()); (schema == testDataset) != errors.Is(err, os.ErrNotExist) {
					t.Fatalf("stage in %s: moved = %v", schema, err)
				}
				snaps = append(snaps, layout(t, d))
				// A second load into the moved file commits by copying, as usual.
				commit(t, d, pkgFor(s, stageOrdersIn(t, testDataset, s, load2, order{8, "again", []string{"z"}}), load2, `{"v":2}`))
				snaps = append(snaps, layout(t, d))
			}
			if snaps[0] != snaps[2] || snaps[1] != snaps[3] {
				t.Errorf("copied:\n%s\nmoved:\n%s\nsecond load copied:\n%s\nmoved:\n%s", snaps[0], snaps[2], snaps[1], snaps[3])
			}
			if !reflect.DeepEqual(stats[0], stats[1]) {
				t.Errorf("stats copied %+v, moved %+v", stats[0].Tables, stats[1].Tables)
			}
		})
	}
}

// When another process creates the file while the stage is being finished,
// the load is committed into that file by copying, and both loads are there.
func TestMoveFindsFileCreatedMeanwhile(t *testing.T) {
	d := newDest(t)
	other := New(d.path, Options{})
	s := orderSchema("append")
	d.afterStep = func(step string) {
		if step == "loads" && d.afterStep != nil {
			d.afterStep = nil // once: the commit that follows runs the steps again
			if _, err := other.Commit(context.Background(), pkgFor(s, stageOrders(t, s, load1, order{1, "a", nil}), load1, "")); err != nil {
				t.Error(err)
			}
		}
	}
	commit(t, d, pkgFor(s, stageOrdersIn(t, testDataset, s, load2, order{2, "b", []string{"x"}}), load2, ""))
	if got := query(t, d, `SELECT id, _dlt_load_id FROM codefresh_data."order" ORDER BY id`); got != "1,"+load1+";2,"+load2 {
		t.Fatalf("order = %s", got)
	}
	if got := query(t, d, `SELECT count(*) FROM codefresh_data._dlt_loads`); got != "2" {
		t.Fatalf("loads = %s", got)
	}
}

// A cancelled first load leaves no file behind.
func TestCancelledMoveLeavesNoFile(t *testing.T) {
	d := newDest(t)
	s := orderSchema("merge")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d.afterStep = func(step string) {
		if step == "rows" {
			cancel()
		}
	}
	_, err := d.Commit(ctx, pkgFor(s, stageOrdersIn(t, testDataset, s, load1, order{1, "a", []string{"x"}}), load1, ""))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(d.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file after a cancelled first load: %v", err)
	}
}
