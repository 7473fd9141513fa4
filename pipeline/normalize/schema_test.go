package normalize

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

func TestNewSchema(t *testing.T) {
	s := NewSchema("codefresh")
	if s.Version != 1 || s.VersionHash == "" || !s.Verify() || len(s.Tables) != 0 {
		t.Fatalf("new schema %+v", s)
	}
	if s.Table("x") != nil {
		t.Error("unknown table found")
	}
	if NewSchema("other").VersionHash == s.VersionHash {
		t.Error("the name is content")
	}
}

func TestEnsureRoot(t *testing.T) {
	s := NewSchema("codefresh")
	tb := s.EnsureRoot("builds", "builds", "merge", []string{"id"})
	if tb.Name != "builds" || tb.Resource != "builds" || tb.WriteDisposition != "merge" || !tb.IsRoot() {
		t.Fatalf("table %+v", tb)
	}
	if got := tb.ColumnNames(); !slices.Equal(got, []string{ColLoadID, ColID}) {
		t.Fatalf("columns %v", got)
	}
	id := tb.Column(ColID)
	if id.Nullable || !id.Unique || !id.RowKey || id.DataType != Text {
		t.Errorf("_dlt_id %+v", id)
	}
	if tb.Column(ColLoadID).Nullable {
		t.Error("_dlt_load_id must be not null")
	}
	v, h := s.Version, s.VersionHash
	if v != 2 {
		t.Errorf("version %d after adding a table", v)
	}
	if again := s.EnsureRoot("builds", "builds", "merge", []string{"id"}); again != tb || s.Version != v || s.VersionHash != h {
		t.Error("EnsureRoot of an existing table must change nothing")
	}

	// A child table, then a new disposition for the root and its children.
	n := New(s, Options{})
	if err := n.Normalize("builds", decode(t, `{"id": "b1", "annotations": [{"key": "k"}]}`), &collect{}); err != nil {
		t.Fatal(err)
	}
	s.EnsureRoot("builds", "builds", "replace", []string{"id"})
	if tb.WriteDisposition != "replace" || s.Table("builds__annotations").WriteDisposition != "replace" {
		t.Error("disposition not propagated to children")
	}
	// Primary key names are normalized and mark the column.
	s.EnsureRoot("builds", "builds", "replace", []string{"metadata.ID"})
	if !slices.Equal(tb.PrimaryKey, []string{"metadata_id"}) || tb.Column("id").PrimaryKey {
		t.Errorf("primary key %v, id column %+v", tb.PrimaryKey, tb.Column("id"))
	}
}

func TestChildrenDescendantsRoot(t *testing.T) {
	s, _, _ := run(t, Options{}, `{"a": [{"b": [{"c": [1]}]}], "d": [1]}`)
	s.EnsureRoot("other", "", "", nil)
	names := func(ts []*Table) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	if got := names(s.Children("items")); !slices.Equal(got, []string{"items__a", "items__d"}) {
		t.Errorf("children %v", got)
	}
	if got := names(s.Descendants("items")); !slices.Equal(got, []string{"items__a", "items__a__b", "items__a__b__c", "items__d"}) {
		t.Errorf("descendants %v", got)
	}
	if got := s.RootOf("items__a__b__c"); got == nil || got.Name != "items" {
		t.Errorf("root %v", got)
	}
	if s.RootOf("nope") != nil {
		t.Error("root of unknown table")
	}
	if got := names(s.RootTables()); !slices.Equal(got, []string{"items", "other"}) {
		t.Errorf("roots %v", got)
	}
	if len(s.Children("")) != 0 {
		t.Error("children of no table")
	}
}

// The schema is stored as JSON in _dlt_version: the round trip loses nothing
// and a restored schema keeps working.
func TestSchemaJSONRoundTrip(t *testing.T) {
	s := NewSchema("codefresh")
	s.EnsureRoot("builds", "builds", "merge", []string{"id"})
	n := New(s, Options{})
	for _, f := range []string{"build_get.json", "build_full.json"} {
		if err := n.Normalize("builds", loadBuild(t, f), &collect{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Normalize("builds", decode(t, `{"delayed": "soon"}`), &collect{}); err != nil {
		t.Fatal(err) // adds a variant column
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Schema
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	raw2, _ := json.Marshal(&back)
	if !bytes.Equal(raw, raw2) {
		t.Fatalf("round trip differs:\n%s\n%s", raw, raw2)
	}
	if !back.Verify() || back.Version != s.Version || back.VersionHash != s.VersionHash {
		t.Error("restored schema does not verify")
	}
	if c := back.Table("builds").Column("delayed__v_text"); c == nil || c.VariantOf != "delayed" {
		t.Errorf("variant column lost: %+v", c)
	}
	if !back.Table("builds").Column("id").PrimaryKey {
		t.Error("primary key lost")
	}
	// Normalizing the same data into the restored schema adds nothing.
	n2 := New(&back, Options{})
	c := &collect{}
	if err := n2.Normalize("builds", loadBuild(t, "build_full.json"), c); err != nil {
		t.Fatal(err)
	}
	if len(n2.NewColumns()) != 0 || back.Version != s.Version {
		t.Errorf("restored schema evolved: %v", n2.NewColumns())
	}
	if len(c.rows["builds__annotations"]) != 2 {
		t.Errorf("rows %v", c.rows)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s, n, _ := run(t, Options{}, `{"a": 1, "k": [1]}`)
	c := s.Clone()
	if c.VersionHash != s.VersionHash || !c.Verify() {
		t.Fatal("clone differs")
	}
	if err := n.Normalize("items", decode(t, `{"b": 2, "k2": [1]}`), &collect{}); err != nil {
		t.Fatal(err)
	}
	if c.Table("items").Column("b") != nil || c.Table("items__k2") != nil || c.Version == s.Version {
		t.Error("clone changed with the original")
	}
	c.Table("items").Columns[0].Name = "changed"
	if s.Table("items").Columns[0].Name == "changed" {
		t.Error("original changed with the clone")
	}
}

func TestHashCoversColumnsAndOrder(t *testing.T) {
	a, _, _ := run(t, Options{}, `{"a": 1}`, `{"b": 1}`)
	b, _, _ := run(t, Options{}, `{"b": 1}`, `{"a": 1}`)
	c, _, _ := run(t, Options{}, `{"a": 1}`, `{"b": 1}`)
	if a.VersionHash == b.VersionHash {
		t.Error("column order is part of the content")
	}
	if a.VersionHash != c.VersionHash {
		t.Error("same content, different hash")
	}
	d, _, _ := run(t, Options{}, `{"a": 1}`, `{"b": "x"}`)
	if a.VersionHash == d.VersionHash {
		t.Error("a column type is part of the content")
	}
}
