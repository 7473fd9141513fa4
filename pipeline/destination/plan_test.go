package destination

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

func planSchema() *normalize.Schema {
	col := func(name string, pk bool) *normalize.Column {
		return &normalize.Column{Name: name, DataType: normalize.Text, Nullable: !pk, PrimaryKey: pk}
	}
	return &normalize.Schema{Name: "codefresh", Tables: []*normalize.Table{
		{Name: "builds", WriteDisposition: "merge", Columns: []*normalize.Column{col("id", true), col("x", false)}},
		{Name: "builds__steps", Parent: "builds", Columns: []*normalize.Column{col("name", false)}},
		{Name: "users", WriteDisposition: "merge", Columns: []*normalize.Column{col("name", false)}},
		{Name: "builds__steps__logs", Parent: "builds__steps", Columns: []*normalize.Column{col("line", false)}},
		{Name: "images", WriteDisposition: "", Columns: []*normalize.Column{col("id", false)}},
		{Name: "projects", WriteDisposition: "replace", Columns: []*normalize.Column{col("a", true), col("b", true)}},
	}}
}

func TestPlan(t *testing.T) {
	p := &Package{Schema: planSchema(), Resources: []string{"projects", "builds", "users", "builds", "images", "never_extracted"}}
	writes, err := p.Plan()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range writes {
		var tables []string
		for _, tb := range w.Tables {
			tables = append(tables, tb.Name)
		}
		got = append(got, w.Root.Name+":"+w.Disposition+":"+strings.Join(w.Keys, "+")+":"+strings.Join(tables, ","))
	}
	want := "projects:replace::projects|builds:merge:id:builds,builds__steps,builds__steps__logs|users:append::users|images:append::images"
	if strings.Join(got, "|") != want {
		t.Fatalf("plan\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}

func TestPlanRejects(t *testing.T) {
	s := planSchema()
	for _, tc := range []struct {
		resources []string
		mutate    func(*normalize.Schema)
		want      string
	}{
		{[]string{"builds__steps"}, nil, "resource builds__steps: table is a child of builds, not a root"},
		{[]string{"images"}, func(s *normalize.Schema) { s.Tables[4].WriteDisposition = "upsert" }, `resource images: unknown write disposition "upsert"`},
	} {
		if tc.mutate != nil {
			tc.mutate(s)
		}
		_, err := (&Package{Schema: s, Resources: tc.resources}).Plan()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: err = %v, want %s", tc.resources, err, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	ok := &Package{LoadID: "1.2", PipelineName: "p", Schema: planSchema()}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	bad := []*Package{nil, {LoadID: "1", Schema: planSchema()}, {PipelineName: "p", Schema: planSchema()}, {LoadID: "1", PipelineName: "p"},
		{LoadID: "1", PipelineName: "p", Schema: planSchema(), State: json.RawMessage(`{"a":`)}}
	for i, p := range bad {
		if err := p.Check(); err == nil {
			t.Errorf("package %d accepted", i)
		}
	}
}

func TestColumnsAddsStagedExtras(t *testing.T) {
	st, err := stage.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := &Package{LoadID: "1", PipelineName: "p", Schema: planSchema(), Stage: st}
	// The stage saw a column the package's schema does not list.
	wider := *p.Schema.Tables[0]
	wider.Columns = append(slices.Clip(wider.Columns), &normalize.Column{Name: "late", DataType: normalize.Bigint, Nullable: true})
	if err := st.Write(&wider, []any{"b1", "x", int64(3)}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range p.Columns(p.Schema.Tables[0]) {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "id,x,late" || len(p.Schema.Tables[0].Columns) != 2 {
		t.Fatalf("columns = %v (schema has %d)", names, len(p.Schema.Tables[0].Columns))
	}
	if p.Staged("builds__steps") != nil || p.Check() != nil {
		t.Fatal("unexpected staged table or check error")
	}
	// A staged table the schema lacks is refused.
	if err := st.Write(&normalize.Table{Name: "ghost", Columns: wider.Columns[:1]}, []any{"g"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err == nil || err.Error() != "staged table ghost is not in schema codefresh" {
		t.Fatalf("check = %v", err)
	}
}

func TestSystemTablesAreFresh(t *testing.T) {
	a, b := SystemTables(), SystemTables()
	a[0].Columns[0].Name = "changed"
	if b[0].Columns[0].Name != "load_id" || len(b) != 3 {
		t.Fatal("SystemTables shares its values between calls")
	}
}

func TestStats(t *testing.T) {
	var s CommitStats
	s.Add("a", 2, 0)
	s.Add("a", 1, 3)
	s.Add("b", 0, 0)
	if s.Tables["a"] != (TableStats{Inserted: 3, Deleted: 3}) || len(s.Tables) != 2 {
		t.Fatalf("stats = %+v", s.Tables)
	}
}
