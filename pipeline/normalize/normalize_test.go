package normalize

import (
	"crypto/sha3"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// collect is a Sink that keeps rows as maps of non-NULL values.
type collect struct {
	rows  map[string][]map[string]any
	order []string // table of each write
}

func (c *collect) Write(t *Table, row []any) error {
	if len(row) != len(t.Columns) {
		return fmt.Errorf("table %s: row of %d values for %d columns", t.Name, len(row), len(t.Columns))
	}
	if c.rows == nil {
		c.rows = map[string][]map[string]any{}
	}
	m := map[string]any{}
	for i, col := range t.Columns {
		if row[i] != nil {
			m[col.Name] = row[i]
		}
	}
	c.rows[t.Name] = append(c.rows[t.Name], m)
	c.order = append(c.order, t.Name)
	return nil
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// run normalizes records (JSON texts) into the root table "items" of a
// new schema.
func run(t testing.TB, opts Options, records ...string) (*Schema, *Normalizer, *collect) {
	t.Helper()
	s := NewSchema("test")
	s.EnsureRoot("items", "items", "append", nil)
	if opts.LoadID == "" {
		opts.LoadID = "1749667187.541553"
	}
	n := New(s, opts)
	c := &collect{}
	for _, r := range records {
		if err := n.Normalize("items", decode(t, r), c); err != nil {
			t.Fatalf("normalize %s: %v", r, err)
		}
	}
	return s, n, c
}

func columnType(t *testing.T, s *Schema, table, col string) DataType {
	t.Helper()
	tb := s.Table(table)
	if tb == nil {
		t.Fatalf("no table %s (have %v)", table, tableNames(s))
	}
	c := tb.Column(col)
	if c == nil {
		t.Fatalf("table %s has no column %s (have %v)", table, col, tb.ColumnNames())
	}
	return c.DataType
}

func tableNames(s *Schema) []string {
	var out []string
	for _, t := range s.Tables {
		out = append(out, t.Name)
	}
	return out
}

func digest(v string) string {
	h := sha3.NewSHAKE128()
	h.Write([]byte(v))
	var d [10]byte
	h.Read(d[:])
	return base64.StdEncoding.EncodeToString(d[:])[:14]
}

func TestFlattensNestedObjects(t *testing.T) {
	s, _, c := run(t, Options{}, `{"a": {"b": 1, "c": {"d": "x"}}, "e": true}`)
	root := s.Table("items")
	if root.Column("a") != nil {
		t.Error("a flattened object must not be a column")
	}
	if got := columnType(t, s, "items", "a__b"); got != Bigint {
		t.Errorf("a__b is %s", got)
	}
	if got := columnType(t, s, "items", "a__c__d"); got != Text {
		t.Errorf("a__c__d is %s", got)
	}
	row := c.rows["items"][0]
	if row["a__b"] != int64(1) || row["a__c__d"] != "x" || row["e"] != true {
		t.Errorf("row %v", row)
	}
	if len(s.Tables) != 1 {
		t.Errorf("tables %v", tableNames(s))
	}
}

func TestChildTablesAndJoinKeys(t *testing.T) {
	s, _, c := run(t, Options{}, `{"id": 1, "items": [
		{"n": 1, "tags": [{"t": "x"}, {"t": "y"}]},
		{"n": 2, "tags": []}
	]}`)
	if got := tableNames(s); !slices.Equal(got, []string{"items", "items__items", "items__items__tags"}) {
		t.Fatalf("tables %v", got)
	}
	if p := s.Table("items__items__tags").Parent; p != "items__items" {
		t.Errorf("parent of tags = %q", p)
	}
	root := c.rows["items"][0]
	rootID := root[ColID].(string)
	if len(rootID) != 14 {
		t.Errorf("root _dlt_id %q is not 14 characters", rootID)
	}
	kids := c.rows["items__items"]
	if len(kids) != 2 {
		t.Fatalf("items__items rows = %d", len(kids))
	}
	for i, k := range kids {
		if k[ColParentID] != rootID || k[ColRootID] != rootID || k[ColListIdx] != int64(i) {
			t.Errorf("child %d join keys: %v", i, k)
		}
		if k[ColID] != digest(fmt.Sprintf("%s_items__items_%d", rootID, i)) {
			t.Errorf("child %d id %v is not dlt's digest", i, k[ColID])
		}
		if k["n"] != int64(i+1) {
			t.Errorf("child %d n = %v", i, k["n"])
		}
	}
	tags := c.rows["items__items__tags"]
	if len(tags) != 2 {
		t.Fatalf("tags rows = %d (an empty list makes no rows)", len(tags))
	}
	for i, g := range tags {
		if g[ColParentID] != kids[0][ColID] || g[ColRootID] != rootID || g[ColListIdx] != int64(i) {
			t.Errorf("tag %d join keys: %v", i, g)
		}
	}
	ids := map[any]bool{}
	for table, rows := range c.rows {
		for _, r := range rows {
			if r[ColLoadID] != "1749667187.541553" {
				t.Errorf("%s row without load id: %v", table, r)
			}
			ids[r[ColID]] = true
		}
	}
	if len(ids) != 5 {
		t.Errorf("%d distinct _dlt_id for 5 rows", len(ids))
	}
	// Parents are written before their children, depth first.
	if !slices.Equal(c.order, []string{"items", "items__items", "items__items__tags", "items__items__tags", "items__items"}) {
		t.Errorf("write order %v", c.order)
	}
	cols := s.Table("items__items").ColumnNames()
	for _, want := range []string{"n", ColRootID, ColLoadID, ColParentID, ColListIdx, ColID} {
		if !slices.Contains(cols, want) {
			t.Errorf("items__items lacks %s: %v", want, cols)
		}
	}
	if c := s.Table("items__items").Column(ColListIdx); c.DataType != Bigint || c.Nullable {
		t.Errorf("_dlt_list_idx column %+v", c)
	}
}

func TestListOfScalars(t *testing.T) {
	s, _, c := run(t, Options{}, `{"tags": ["a", "b", null], "nums": [1, 2.5]}`)
	tags := c.rows["items__tags"]
	if len(tags) != 3 {
		t.Fatalf("rows %d", len(tags))
	}
	for i, want := range []any{"a", "b", nil} {
		if tags[i][ColValue] != want || tags[i][ColListIdx] != int64(i) {
			t.Errorf("tag %d: %v", i, tags[i])
		}
	}
	if got := columnType(t, s, "items__tags", "value"); got != Text {
		t.Errorf("value is %s", got)
	}
	// 1 makes value bigint; 2.5 cannot go into bigint: a variant column.
	nums := c.rows["items__nums"]
	if nums[0]["value"] != int64(1) || nums[1]["value__v_double"] != 2.5 {
		t.Errorf("nums %v", nums)
	}
}

// dlt's test_list_in_list: lists inside lists go through an intermediary
// row that holds the inner list under "list".
func TestListInList(t *testing.T) {
	s := NewSchema("other")
	s.EnsureRoot("zen", "zen", "", nil)
	n := New(s, Options{LoadID: "1762162.1212", MaxNesting: 1000})
	c := &collect{}
	rec := decode(t, `{
		"_dlt_id": "123456",
		"created_at": "2023-05-12T12:34:56Z",
		"ended_at": "2023-05-12T13:14:32Z",
		"webpath": [
			[
				{"url": "https://www.website.com/", "timestamp": "2023-05-12T12:35:01Z"},
				{"url": "https://www.website.com/products", "timestamp": "2023-05-12T12:38:45Z"},
				{"url": "https://www.website.com/products/item123", "timestamp": "2023-05-12T12:42:22Z"},
				[{"url": "https://www.website.com/products/item1234", "timestamp": "2023-05-12T12:42:22Z"}]
			],
			[1, 2, 3]
		]
	}`)
	if err := n.Normalize("zen", rec, c); err != nil {
		t.Fatal(err)
	}
	if len(c.order) != 11 {
		t.Errorf("rows %d, want 11: %v", len(c.order), c.order)
	}
	wp := c.rows["zen__webpath"]
	if len(wp) != 2 || wp[0][ColParentID] != "123456" || wp[0][ColListIdx] != int64(0) || wp[1][ColListIdx] != int64(1) {
		t.Errorf("zen__webpath %v", wp)
	}
	if got := len(c.rows["zen__webpath__list"]); got != 7 {
		t.Errorf("zen__webpath__list rows %d, want 7", got)
	}
	if got := len(c.rows["zen__webpath__list__list"]); got != 1 {
		t.Errorf("zen__webpath__list__list rows %d, want 1", got)
	}
	if got := columnType(t, s, "zen", "created_at"); got != Timestamp {
		t.Errorf("created_at is %s", got)
	}
}

func TestNullOnlyAndEmptyListsMakeNothing(t *testing.T) {
	s, n, _ := run(t, Options{}, `{"id": "a", "b": null, "l": [], "o": {}}`)
	root := s.Table("items")
	if root.Column("b") != nil || root.Column("o") != nil || s.Table("items__l") != nil {
		t.Fatalf("null-only or empty fields made columns/tables: %v %v", root.ColumnNames(), tableNames(s))
	}
	v := s.Version
	c := &collect{}
	if err := n.Normalize("items", decode(t, `{"id": "b", "b": 5, "l": ["x"]}`), c); err != nil {
		t.Fatal(err)
	}
	if got := columnType(t, s, "items", "b"); got != Bigint {
		t.Errorf("b is %s", got)
	}
	if s.Table("items__l") == nil || s.Version != v+1 {
		t.Errorf("tables %v, version %d (was %d)", tableNames(s), s.Version, v)
	}
	if nc := n.NewColumns(); !slices.Contains(nc, "items.b") || !slices.Contains(nc, "items__l.value") {
		t.Errorf("NewColumns %v", nc)
	}
}

// Two keys that normalize to one name in one object: dlt keeps the later
// key's value. Go maps have no order, so "later" is the later key in
// sorted order, whatever order the map iterates in.
func TestCollisions(t *testing.T) {
	cases := []struct {
		name, rec, table, col string
		want                  any
		rows                  int
	}{
		{"camel and snake", `{"createdAt": 1, "created_at": 2}`, "items", "created_at", int64(2), 1},
		{"case", `{"ID": "upper", "id": "lower"}`, "items", "id", "lower", 1},
		{"later null wins", `{"Name": "x", "name": null}`, "items", "name", nil, 1},
		{"flattened vs dunder key", `{"a": {"b": 1}, "a__b": 2}`, "items", "a__b", int64(1), 1},
		{"lists", `{"Tags": [1, 2], "tags": [3]}`, "items__tags", "value", int64(3), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for range 20 { // map order differs between runs
				_, _, got := run(t, Options{}, c.rec)
				rows := got.rows[c.table]
				if len(rows) != c.rows {
					t.Fatalf("%s rows %d, want %d", c.table, len(rows), c.rows)
				}
				if rows[0][c.col] != c.want {
					t.Fatalf("%s.%s = %#v, want %#v", c.table, c.col, rows[0][c.col], c.want)
				}
			}
		})
	}
	// Once two keys collided, records holding either still normalize.
	s, n, _ := run(t, Options{}, `{"createdAt": 1, "created_at": 2}`)
	c := &collect{}
	for _, r := range []string{`{"createdAt": 5}`, `{"created_at": 6}`} {
		if err := n.Normalize("items", decode(t, r), c); err != nil {
			t.Fatal(err)
		}
	}
	if c.rows["items"][0]["created_at"] != int64(5) || c.rows["items"][1]["created_at"] != int64(6) {
		t.Errorf("rows %v", c.rows["items"])
	}
	if cols := s.Table("items").ColumnNames(); countOf(cols, "created_at") != 1 {
		t.Errorf("duplicate column: %v", cols)
	}
}

func TestTypeInference(t *testing.T) {
	ts := time.Date(2021, 5, 17, 21, 31, 35, 779000000, time.UTC)
	cases := []struct {
		json string // the value, as JSON
		typ  DataType
		want any
	}{
		{`5`, Bigint, int64(5)},
		{`-12`, Bigint, int64(-12)},
		{`5.5`, Double, 5.5},
		{`1e3`, Double, 1000.0},
		{`true`, Bool, true},
		{`"2021-05-17T21:31:35.779Z"`, Timestamp, ts},
		{`"2021-05-17T23:31:35.779+02:00"`, Timestamp, ts},
		{`"2021-05-17"`, Text, "2021-05-17"},
		{`"hello"`, Text, "hello"},
		{`""`, Text, ""},
		{`99999999999999999999`, Text, "99999999999999999999"},
	}
	for _, c := range cases {
		s, _, got := run(t, Options{}, `{"v": `+c.json+`}`)
		if typ := columnType(t, s, "items", "v"); typ != c.typ {
			t.Errorf("%s: type %s, want %s", c.json, typ, c.typ)
		}
		v := got.rows["items"][0]["v"]
		if want, ok := c.want.(time.Time); ok {
			if g, _ := v.(time.Time); !g.Equal(want) || g.Location() != time.UTC {
				t.Errorf("%s: value %v, want %v UTC", c.json, v, want)
			}
		} else if v != c.want {
			t.Errorf("%s: value %#v, want %#v", c.json, v, c.want)
		}
	}

	// Go values handed in directly.
	s := NewSchema("go")
	s.EnsureRoot("r", "", "", nil)
	n := New(s, Options{})
	c := &collect{}
	rec := map[string]any{"f": 1.25, "i": 3, "i64": int64(4), "t": ts.In(time.FixedZone("x", 3600))}
	if err := n.Normalize("r", rec, c); err != nil {
		t.Fatal(err)
	}
	want := map[string]DataType{"f": Double, "i": Bigint, "i64": Bigint, "t": Timestamp}
	for col, typ := range want {
		if got := s.Table("r").Column(col).DataType; got != typ {
			t.Errorf("%s is %s, want %s", col, got, typ)
		}
	}
	if got := c.rows["r"][0]["t"].(time.Time); !got.Equal(ts) || got.Location() != time.UTC {
		t.Errorf("time %v is not UTC", got)
	}
}

func TestVariantColumns(t *testing.T) {
	s, _, c := run(t, Options{},
		`{"duration": 5}`,
		`{"duration": "long"}`,
		`{"duration": "7"}`,
		`{"duration": true}`,
		`{"duration": "2021-05-17T21:31:35Z"}`,
		`{"duration": "short"}`,
	)
	root := s.Table("items")
	v := root.Column("duration__v_text")
	if v == nil || v.VariantOf != "duration" || v.DataType != Text || !v.Nullable {
		t.Fatalf("variant column %+v (columns %v)", v, root.ColumnNames())
	}
	if b := root.Column("duration__v_bool"); b == nil || b.DataType != Bool {
		t.Fatalf("bool variant %+v", b)
	}
	rows := c.rows["items"]
	want := []map[string]any{
		{"duration": int64(5)},
		{"duration__v_text": "long"},
		{"duration": int64(7)}, // text that parses as bigint is coerced, as dlt does
		{"duration__v_bool": true},
		{"duration__v_text": "2021-05-17T21:31:35Z"},
		{"duration__v_text": "short"},
	}
	for i, w := range want {
		for k, val := range w {
			if rows[i][k] != val {
				t.Errorf("row %d: %s = %#v, want %#v (row %v)", i, k, rows[i][k], val, rows[i])
			}
		}
		if _, ok := rows[i]["duration"]; ok && w["duration"] == nil {
			t.Errorf("row %d: duration should be NULL", i)
		}
	}
}

// A variant column's type is inferred like any new column: an ISO string
// that cannot go into a bigint column makes a timestamp-typed __v_text
// column. A later value it cannot take is an error, as in dlt.
func TestVariantColumnTypeIsDetected(t *testing.T) {
	s, n, _ := run(t, Options{}, `{"x": 1}`, `{"x": "2021-05-17T21:31:35Z"}`)
	if got := columnType(t, s, "items", "x__v_text"); got != Timestamp {
		t.Fatalf("x__v_text is %s", got)
	}
	err := n.Normalize("items", decode(t, `{"x": "soon"}`), &collect{})
	if err == nil || !strings.Contains(err.Error(), "x__v_text") {
		t.Fatalf("error %v", err)
	}
}

func TestNumericWideningAndText(t *testing.T) {
	s, _, c := run(t, Options{},
		`{"d": 1.5, "i": 2, "s": "a"}`,
		`{"d": 2, "i": 3.0, "s": 5}`,
		`{"d": 3, "i": 4.5, "s": 1.5}`,
		`{"s": true}`,
		`{"s": 1e16}`,
	)
	if columnType(t, s, "items", "d") != Double || columnType(t, s, "items", "i") != Bigint {
		t.Fatal("types")
	}
	rows := c.rows["items"]
	checks := []struct {
		row int
		col string
		val any
	}{
		{1, "d", 2.0},      // bigint into a double column widens
		{2, "d", 3.0},      // and again
		{1, "i", int64(3)}, // a whole double into bigint
		{2, "i__v_double", 4.5},
		{1, "s", "5"}, // numbers into text become text
		{2, "s", "1.5"},
		{3, "s", "True"},
		{4, "s", "1e+16"},
	}
	for _, ch := range checks {
		if got := rows[ch.row][ch.col]; got != ch.val {
			t.Errorf("row %d %s = %#v, want %#v", ch.row, ch.col, got, ch.val)
		}
	}
	if s.Table("items").Column("d__v_bigint") != nil {
		t.Error("widening must not make a variant column")
	}
}

func TestNestingCap(t *testing.T) {
	s, _, c := run(t, Options{}, `{"a": {"b": {"c": {"d": {"e": 1}}}}, "l1": [{"l2": [{"l3": [{"x": {"y": 1}, "l4": [1]}]}]}]}`)
	if got := columnType(t, s, "items", "a__b__c__d"); got != JSON {
		t.Fatalf("a__b__c__d is %s", got)
	}
	if got := c.rows["items"][0]["a__b__c__d"]; got != `{"e":1}` {
		t.Errorf("json value %#v", got)
	}
	// Three levels of child tables, then json.
	if !slices.Equal(tableNames(s), []string{"items", "items__l1", "items__l1__l2", "items__l1__l2__l3"}) {
		t.Fatalf("tables %v", tableNames(s))
	}
	if columnType(t, s, "items__l1__l2__l3", "x") != JSON || columnType(t, s, "items__l1__l2__l3", "l4") != JSON {
		t.Error("deepest values should be json")
	}
	if got := c.rows["items__l1__l2__l3"][0]["l4"]; got != "[1]" {
		t.Errorf("l4 = %#v", got)
	}
}

// dlt's test_json_types_for_recursion_level.
func TestMaxNestingLevels(t *testing.T) {
	rec := `{"_dlt_id": "row_id", "f": [{"l": ["a"], "v": 120, "lo": [{"e": {"v": 1}}]}]}`
	cases := []struct {
		max    int
		tables []string
	}{
		{-1, []string{"default"}},
		{1, []string{"default", "default__f"}},
		{2, []string{"default", "default__f", "default__f__l", "default__f__lo"}},
		{3, []string{"default", "default__f", "default__f__l", "default__f__lo"}},
	}
	for _, c := range cases {
		s := NewSchema("x")
		s.EnsureRoot("default", "", "", nil)
		col := &collect{}
		if err := New(s, Options{MaxNesting: c.max}).Normalize("default", decode(t, rec), col); err != nil {
			t.Fatal(err)
		}
		var written []string
		for _, name := range col.order {
			if !slices.Contains(written, name) {
				written = append(written, name)
			}
		}
		if !slices.Equal(written, c.tables) {
			t.Errorf("max %d: tables %v, want %v", c.max, written, c.tables)
		}
		switch c.max {
		case -1:
			if got := col.rows["default"][0]["f"]; got != `[{"l":["a"],"lo":[{"e":{"v":1}}],"v":120}]` {
				t.Errorf("max 0: f = %#v", got)
			}
		case 1:
			if f := col.rows["default__f"][0]; f["l"] != `["a"]` || f["lo"] != `[{"e":{"v":1}}]` {
				t.Errorf("max 1: %v", f)
			}
		case 2:
			if got := col.rows["default__f__lo"][0]["e"]; got != `{"v":1}` {
				t.Errorf("max 2: e = %#v", got)
			}
		case 3:
			if got := col.rows["default__f__lo"][0]["e__v"]; got != int64(1) {
				t.Errorf("max 3: e__v = %#v", got)
			}
		}
	}
}

// A column once made json keeps later objects whole (dlt's is_nested_type).
func TestJSONColumnKeepsObjects(t *testing.T) {
	_, _, c := run(t, Options{MaxNesting: 1},
		`{"a": {"b": {"c": 1}}}`,
	)
	if c.rows["items"][0]["a__b"] != `{"c":1}` {
		t.Fatalf("rows %v", c.rows["items"])
	}
	s, n, _ := run(t, Options{MaxNesting: 1}, `{"a": {"b": {"c": 1}}}`)
	// A second normalizer with a deeper cap still honours the json column.
	c2 := &collect{}
	if err := New(s, Options{MaxNesting: 5}).Normalize("items", decode(t, `{"a": {"b": {"c": 2}}}`), c2); err != nil {
		t.Fatal(err)
	}
	if c2.rows["items"][0]["a__b"] != `{"c":2}` || s.Table("items").Column("a__b__c") != nil {
		t.Errorf("rows %v columns %v", c2.rows["items"], s.Table("items").ColumnNames())
	}
	_ = n
}

func TestSchemaEvolution(t *testing.T) {
	s, n, _ := run(t, Options{}, `{"id": 1, "name": "a"}`)
	v1, h1 := s.Version, s.VersionHash
	cols1 := s.Table("items").ColumnNames()
	if err := n.Normalize("items", decode(t, `{"id": 2, "name": "b"}`), &collect{}); err != nil {
		t.Fatal(err)
	}
	if s.Version != v1 || s.VersionHash != h1 {
		t.Fatalf("same shape changed the schema: %d %s", s.Version, s.VersionHash)
	}
	if err := n.Normalize("items", decode(t, `{"id": 3, "name": "c", "extra": 1.5, "kids": [{"k": 1}]}`), &collect{}); err != nil {
		t.Fatal(err)
	}
	if s.Version != v1+1 {
		t.Errorf("version %d, want %d (one bump per record)", s.Version, v1+1)
	}
	if s.VersionHash == h1 || !s.Verify() {
		t.Error("hash did not change or does not verify")
	}
	cols := s.Table("items").ColumnNames()
	if !slices.Equal(cols[:len(cols1)], cols1) || cols[len(cols)-1] != "extra" {
		t.Errorf("new column not appended: %v", cols)
	}
	nc := n.NewColumns()
	for _, want := range []string{"items.id", "items.name", "items.extra", "items__kids.k", "items__kids._dlt_id"} {
		if !slices.Contains(nc, want) {
			t.Errorf("NewColumns lacks %s: %v", want, nc)
		}
	}
}

func loadBuild(t testing.TB, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(raw))
}

func TestCodefreshBuild(t *testing.T) {
	s := NewSchema("codefresh")
	s.EnsureRoot("builds", "builds", "merge", []string{"id"})
	n := New(s, Options{LoadID: "1749667187.541553"})
	c := &collect{}
	if err := n.Normalize("builds", loadBuild(t, "build_get.json"), c); err != nil {
		t.Fatal(err)
	}
	// Empty lists (annotations, systemEvents...) make no tables yet.
	if got := tableNames(s); !slices.Equal(got, []string{"builds", "builds__exposed_variables__pipeline"}) {
		t.Fatalf("tables %v", got)
	}
	wantRoot := map[string]DataType{
		"id": Text, "status": Text, "created": Timestamp, "started": Timestamp, "finished": Timestamp,
		"pipeline_name": Text, "service_id": Text, "project_id": Text, "repo_url": Text, "branch_url": Text,
		"commit_url": Text, "webhook_triggered": Bool, "pipeline_trigger_id": Text, "user_yaml_descriptor": Text,
		"delayed": Bigint, "pending_license": Bool, "permit_restart_from_failed_steps": Bool,
		"triggers_count": Bigint, "runtime__scheduler_config__type": Text, ColLoadID: Text, ColID: Text,
	}
	for col, typ := range wantRoot {
		if got := columnType(t, s, "builds", col); got != typ {
			t.Errorf("builds.%s is %s, want %s", col, got, typ)
		}
	}
	if id := s.Table("builds").Column("id"); !id.PrimaryKey || id.Nullable {
		t.Errorf("id column %+v should be the primary key", id)
	}
	for _, col := range s.Table("builds").ColumnNames() {
		if strings.HasPrefix(col, "exposed_variables") || col == "steps" || col == "annotations" {
			t.Errorf("list %s must not be a column", col)
		}
	}
	ev := c.rows["builds__exposed_variables__pipeline"]
	if len(ev) != 1 || ev[0]["key"] != "IMAGE" || ev[0]["value"] != "acme/backend" {
		t.Errorf("exposed variables %v", ev)
	}
	created := c.rows["builds"][0]["created"].(time.Time)
	if !created.Equal(time.Date(2024, 5, 6, 7, 0, 10, 123000000, time.UTC)) {
		t.Errorf("created %v", created)
	}

	// A build with its lists filled.
	if err := n.Normalize("builds", loadBuild(t, "build_full.json"), c); err != nil {
		t.Fatal(err)
	}
	wantTables := map[string][]string{
		"builds__annotations":               {"annotation_id", "key", "value", "type", "display", "updated_at"},
		"builds__system_events":             {"_id", "kind", "message", "retriable", "step", "step_kind", "step_name"},
		"builds__termination_request":       {"_id", "by_build_manager", "cause", "date", "message", "workflow_status"},
		"builds__steps":                     {"value"},
		"builds__exposed_variables__shared": {"key", "value"},
	}
	for table, cols := range wantTables {
		tb := s.Table(table)
		if tb == nil {
			t.Errorf("no table %s in %v", table, tableNames(s))
			continue
		}
		if tb.Parent != "builds" || tb.WriteDisposition != "merge" || tb.Resource != "builds" {
			t.Errorf("%s: parent %q disposition %q resource %q", table, tb.Parent, tb.WriteDisposition, tb.Resource)
		}
		for _, col := range append(cols, ColID, ColParentID, ColListIdx, ColRootID, ColLoadID) {
			if tb.Column(col) == nil {
				t.Errorf("%s lacks %s: %v", table, col, tb.ColumnNames())
			}
		}
	}
	if got := columnType(t, s, "builds__annotations", "updated_at"); got != Timestamp {
		t.Errorf("updated_at is %s", got)
	}
	if got := columnType(t, s, "builds__system_events", "retriable"); got != Bool {
		t.Errorf("retriable is %s", got)
	}
	// annotation values true then 81.5: a bool column, and dlt coerces a
	// number into bool (bool(81.5) is True) rather than making a variant.
	ann := c.rows["builds__annotations"]
	if len(ann) != 2 || ann[0]["value"] != true || ann[1]["value"] != true || s.Table("builds__annotations").Column("value__v_double") != nil {
		t.Errorf("annotations %v", ann)
	}
	if got := len(c.rows["builds__steps"]); got != 2 {
		t.Errorf("steps rows %d", got)
	}
}

func TestChildIDsAreDeterministic(t *testing.T) {
	// Reference value computed with Python: digest128("fJwisblKG9D/YA_builds__annotations_0", 10).
	n := New(NewSchema("x"), Options{})
	if got := n.childID("fJwisblKG9D/YA", "builds__annotations", 0); got != "qS8ZSp/SPY4odA" {
		t.Fatalf("childID = %q", got)
	}

	rec := `{"_dlt_id": "fixed-root", "f": [{"l": ["a", "b"], "lo": [{"e": "a"}, {"e": "b"}]}]}`
	ids := func(root string) []any {
		s := NewSchema("x")
		s.EnsureRoot(root, "", "", nil)
		c := &collect{}
		if err := New(s, Options{}).Normalize(root, decode(t, rec), c); err != nil {
			t.Fatal(err)
		}
		var out []any
		for _, name := range []string{root + "__f", root + "__f__l", root + "__f__lo"} {
			for _, r := range c.rows[name] {
				out = append(out, r[ColID])
			}
		}
		return out
	}
	a, b := ids("table"), ids("table")
	if len(a) != 5 || !slices.Equal(a, b) {
		t.Fatalf("ids differ between runs: %v %v", a, b)
	}
	if other := ids("other_table"); slices.Equal(a, other) {
		t.Error("ids must depend on the table")
	}
	f0 := digest("fixed-root_table__f_0")
	if a[0] != f0 || a[4] != digest(f0+"_table__f__lo_1") {
		t.Errorf("ids %v are not dlt's digests", a)
	}
}

func TestKeepsSourceDltID(t *testing.T) {
	_, _, c := run(t, Options{}, `{"_dlt_id": "mine", "k": [1]}`, `{"_dlt_id": null}`)
	if c.rows["items"][0][ColID] != "mine" || c.rows["items__k"][0][ColParentID] != "mine" {
		t.Errorf("rows %v", c.rows)
	}
	if id, _ := c.rows["items"][1][ColID].(string); len(id) != 14 {
		t.Errorf("null _dlt_id should get a random id, got %q", id)
	}
}

// Source fields named like the columns the normalizer sets are overwritten.
func TestSystemColumnsWin(t *testing.T) {
	_, _, c := run(t, Options{LoadID: "L"}, `{"_dlt_load_id": "fake", "k": [{"_dlt_parent_id": "p", "_dlt_list_idx": "x"}]}`)
	if c.rows["items"][0][ColLoadID] != "L" {
		t.Error("load id overwritten by source")
	}
	k := c.rows["items__k"][0]
	if k[ColParentID] != c.rows["items"][0][ColID] || k[ColListIdx] != int64(0) {
		t.Errorf("child %v", k)
	}
}

// dlt's test_normalize_empty_keys.
func TestEmptyKeys(t *testing.T) {
	_, _, c := run(t, Options{}, `{"a": 1, "": 2, "b": {"": 3}, "c": [{"": 4}]}`)
	r := c.rows["items"][0]
	if r["_empty"] != int64(2) || r["b___empty"] != int64(3) || c.rows["items__c"][0]["_empty"] != int64(4) {
		t.Errorf("rows %v", c.rows)
	}
}

// The fast pass (schema as is, map order) and the evolving pass (sorted
// keys) must agree, and repeated runs must give the same schema.
func TestDeterministicSchemaAndPasses(t *testing.T) {
	build := loadBuild(t, "build_full.json")
	var hash string
	var cols []string
	for i := range 10 {
		s := NewSchema("codefresh")
		s.EnsureRoot("builds", "builds", "merge", []string{"id"})
		n := New(s, Options{})
		slow, fast := &collect{}, &collect{}
		if err := n.Normalize("builds", build, slow); err != nil {
			t.Fatal(err)
		}
		v := s.Version
		if err := n.Normalize("builds", build, fast); err != nil {
			t.Fatal(err)
		}
		if s.Version != v {
			t.Fatal("second identical record changed the schema")
		}
		if len(slow.order) != len(fast.order) {
			t.Fatalf("row counts differ: %d %d", len(slow.order), len(fast.order))
		}
		for table, rows := range slow.rows {
			for j, r := range rows {
				f := fast.rows[table][j]
				for k, val := range r {
					if k == ColID || k == ColParentID || k == ColRootID {
						continue
					}
					if f[k] != val && !isTimeEqual(f[k], val) {
						t.Errorf("%s[%d].%s: slow %#v fast %#v", table, j, k, val, f[k])
					}
				}
			}
		}
		if i == 0 {
			hash, cols = s.VersionHash, s.Table("builds").ColumnNames()
		} else if s.VersionHash != hash || !slices.Equal(cols, s.Table("builds").ColumnNames()) {
			t.Fatalf("run %d: schema differs", i)
		}
	}
}

func isTimeEqual(a, b any) bool {
	ta, ok1 := a.(time.Time)
	tb, ok2 := b.(time.Time)
	return ok1 && ok2 && ta.Equal(tb)
}

// Rows made before a column was added in the same record are padded.
func TestRowsAlignedWithColumns(t *testing.T) {
	_, n, _ := run(t, Options{}, `{"k": [{"a": 1}]}`)
	c := &collect{} // collect fails on a row that is not aligned
	if err := n.Normalize("items", decode(t, `{"k": [{"a": 1}, {"a": 2, "b": "new"}]}`), c); err != nil {
		t.Fatal(err)
	}
	if c.rows["items__k"][1]["b"] != "new" || len(c.rows["items__k"]) != 2 {
		t.Errorf("rows %v", c.rows["items__k"])
	}
}

type failSink struct{}

func (failSink) Write(*Table, []any) error { return errors.New("disk full") }

func TestNormalizeErrors(t *testing.T) {
	s := NewSchema("x")
	n := New(s, Options{})
	if err := n.Normalize("builds", map[string]any{}, &collect{}); err == nil || !strings.Contains(err.Error(), "EnsureRoot") {
		t.Errorf("missing root: %v", err)
	}
	s.EnsureRoot("builds", "", "", nil)
	if err := n.Normalize("builds", map[string]any{"k": []any{map[string]any{"a": "x"}}}, &collect{}); err != nil {
		t.Fatal(err)
	}
	if err := n.Normalize("builds__k", map[string]any{}, &collect{}); err == nil || !strings.Contains(err.Error(), "not a root table") {
		t.Errorf("child as root: %v", err)
	}
	err := n.Normalize("builds", map[string]any{"bad": struct{}{}}, &collect{})
	if err == nil || !strings.Contains(err.Error(), "bad") || !strings.Contains(err.Error(), "unsupported value type") {
		t.Errorf("bad type: %v", err)
	}
	if err := n.Normalize("builds", map[string]any{"a": "x"}, failSink{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("sink error: %v", err)
	}
	// The normalizer is usable after errors.
	c := &collect{}
	if err := n.Normalize("builds", map[string]any{"a": "y"}, c); err != nil || len(c.order) != 1 {
		t.Errorf("after errors: %v %v", err, c.order)
	}
}

func TestRootNameIsNormalized(t *testing.T) {
	s := NewSchema("x")
	tb := s.EnsureRoot("pipelinesNames", "pipelines_names", "", nil)
	if tb.Name != "pipelines_names" || tb.WriteDisposition != Append {
		t.Fatalf("table %+v", tb)
	}
	c := &collect{}
	if err := New(s, Options{}).Normalize("pipelinesNames", map[string]any{"a": "x"}, c); err != nil {
		t.Fatal(err)
	}
	if len(c.rows["pipelines_names"]) != 1 {
		t.Errorf("rows %v", c.rows)
	}
}

// Several normalizers may share one schema (go test -race checks it).
func TestConcurrentNormalizers(t *testing.T) {
	s := NewSchema("x")
	s.EnsureRoot("a", "", "", nil)
	s.EnsureRoot("b", "", "", nil)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, root := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := New(s, Options{})
			c := &collect{}
			for j := range 200 {
				rec := map[string]any{"id": json.Number(fmt.Sprint(j)), fmt.Sprintf("f%d", j%7): "v", "l": []any{"x"}}
				if err := n.Normalize(root, rec, c); err != nil {
					t.Error(err)
					return
				}
			}
			counts[i] = len(c.order)
		}()
	}
	wg.Wait()
	if counts[0] != 400 || counts[1] != 400 {
		t.Errorf("rows %v", counts)
	}
	if !s.Verify() || len(s.Table("a").Columns) != 10 {
		t.Errorf("schema: verify %v, columns %v", s.Verify(), s.Table("a").ColumnNames())
	}
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}
