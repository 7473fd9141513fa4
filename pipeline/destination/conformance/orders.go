package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// The "order" fixture: small hand-made loads of one root table named by a
// reserved word, with odd column names, and a child table of list items.
// The suite commits them; a destination's own tests use them too.

// Load ids of the order fixture, in commit order.
const (
	OrderLoad1 = "1749667187.541553"
	OrderLoad2 = "1749667290.100000"
	OrderLoad3 = "1749667391.200000"
)

// Col is a nullable column.
func Col(name string, t normalize.DataType) *normalize.Column {
	return &normalize.Column{Name: name, DataType: t, Nullable: true}
}

// OrderSchema is the schema of the order fixture with the root table's
// write disposition: "order" (id, group, `we"ird col`, _dlt_load_id,
// _dlt_id, meta) and its child "order__items".
func OrderSchema(disposition string) *normalize.Schema {
	id := Col("id", normalize.Bigint)
	id.PrimaryKey = true
	id.Nullable = false
	dltID := &normalize.Column{Name: "_dlt_id", DataType: normalize.Text}
	return &normalize.Schema{Name: SchemaName, Version: 1, VersionHash: "h1", Tables: []*normalize.Table{
		{Name: "order", Resource: "order", WriteDisposition: disposition, Columns: []*normalize.Column{
			id, Col("group", normalize.Text), Col(`we"ird col`, normalize.Double),
			Col("_dlt_load_id", normalize.Text), dltID, Col("meta", normalize.JSON),
		}},
		{Name: "order__items", Parent: "order", Columns: []*normalize.Column{
			Col("value", normalize.Text), Col("_dlt_parent_id", normalize.Text), Col("_dlt_list_idx", normalize.Bigint),
			Col("_dlt_root_id", normalize.Text), Col("_dlt_load_id", normalize.Text), Col("_dlt_id", normalize.Text),
		}},
	}}
}

// Order is one root row and the values of its items.
type Order struct {
	ID    int64
	Group string
	Items []string
}

// StageOrders stages orders (in this order) for schema s and load loadID,
// with the staging tables in schema ("" = main). The stage closes with t.
func StageOrders(t testing.TB, schema string, s *normalize.Schema, loadID string, orders ...Order) *stage.Stage {
	t.Helper()
	st, err := stage.OpenIn(context.Background(), t.TempDir(), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, child := s.Tables[0], s.Tables[1]
	for n, o := range orders {
		rowID := fmt.Sprintf("%s-%d", loadID, n)
		meta := fmt.Sprintf(`{"n":%d,"tags":["a"]}`, o.ID)
		if err := st.Write(root, []any{o.ID, o.Group, float64(o.ID) / 2, loadID, rowID, meta}); err != nil {
			t.Fatal(err)
		}
		for i, it := range o.Items {
			if err := st.Write(child, []any{it, rowID, int64(i), rowID, loadID, fmt.Sprintf("%s-%d", rowID, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return st
}

// OrderPackage is the package of one order load into dataset, loading the
// "order" resource, with state when it is not "".
func OrderPackage(dataset string, s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	p := &destination.Package{LoadID: loadID, PipelineName: Pipeline, Dataset: dataset, Schema: s,
		Stage: st, Resources: []string{"order"}}
	if state != "" {
		p.State = json.RawMessage(state)
	}
	return p
}

// MustCommit commits p into d.
func MustCommit(t testing.TB, d destination.Destination, p *destination.Package) *destination.CommitStats {
	t.Helper()
	stats, err := d.Commit(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}
