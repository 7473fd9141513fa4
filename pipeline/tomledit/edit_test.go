package tomledit

import (
	"math"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestEdits(t *testing.T) {
	p := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ".")
	}
	cases := []struct {
		name, text string
		edit       func(d *Doc) error
		want       string
	}{
		{"change keeps key spelling, spacing and comment", "a=1\n  \"b\"   =  2 # two\nc = 3\n",
			func(d *Doc) error { return d.Set(nil, p("b"), int64(5)) }, "a=1\n  \"b\"   =  5 # two\nc = 3\n"},
		{"a multi-line value becomes one line", "x = [\n  1, # one\n  2,\n]\ny = 1\n",
			func(d *Doc) error { return d.Set(nil, p("x"), []any{int64(3)}) }, "x = [3]\ny = 1\n"},
		{"new top-level key after the last one", "# head\na = 1\n\n[t]\nb = 2\n",
			func(d *Doc) error { return d.Set(nil, p("z"), "v") }, "# head\na = 1\nz = \"v\"\n\n[t]\nb = 2\n"},
		{"new top-level key above the first table and its comment", "# head\n\n# about t\n[t]\nb = 2\n",
			func(d *Doc) error { return d.Set(nil, p("z"), true) }, "# head\n\nz = true\n\n# about t\n[t]\nb = 2\n"},
		{"new key at the end of its table, before the next table's comment", "[t]\n  b = 2\n\n# next\n[u]\n",
			func(d *Doc) error { return d.Set(p("t"), p("t.c"), 1.5) }, "[t]\n  b = 2\n  c = 1.5\n\n# next\n[u]\n"},
		{"new key in a sub-table's deepest header", "[r.b]\nx = 1\n[r.b.params]\ns = \"e\"\n",
			func(d *Doc) error { return d.Set(p("r.b"), p("r.b.params.n"), "m") }, "[r.b]\nx = 1\n[r.b.params]\ns = \"e\"\nn = \"m\"\n"},
		{"dotted keys of the table elsewhere", "d.type = \"duckdb\"\nk = 1\n",
			func(d *Doc) error { return d.Set(p("d"), p("d.path"), "x") }, "d.type = \"duckdb\"\nd.path = \"x\"\nk = 1\n"},
		{"new table at the end", "a = 1",
			func(d *Doc) error { return d.Set(p("r.t"), p("r.t.enabled"), true) }, "a = 1\n\n[r.t]\nenabled = true\n"},
		{"new table in an empty text", "",
			func(d *Doc) error { return d.Set(p("r.t"), p("r.t.params.x"), "y") }, "[r.t]\nparams.x = \"y\"\n"},
		{"inline table takes a key", "[r]\np = { b = 1 } # c\n",
			func(d *Doc) error { return d.Set(p("r"), p("r.p.a"), int64(0)) }, "[r]\np = { a = 0, b = 1 } # c\n"},
		{"CRLF kept", "a = 1\r\n[t]\r\nb = 2\r\n",
			func(d *Doc) error { return d.Set(p("t"), p("t.c"), int64(3)) }, "a = 1\r\n[t]\r\nb = 2\r\nc = 3\r\n"},
		{"a header inside a multi-line string is text", "s = \"\"\"\n[t]\nb = 1\n\"\"\"\n",
			func(d *Doc) error { return d.Set(p("t"), p("t.b"), int64(2)) }, "s = \"\"\"\n[t]\nb = 1\n\"\"\"\n\n[t]\nb = 2\n"},
		{"delete a key", "a = 1 # x\nb = [\n 1,\n]\nc = 3\n",
			func(d *Doc) error { _, err := d.Delete(p("b")); return err }, "a = 1 # x\nc = 3\n"},
		{"delete the last key of an inline table", "p = { s = 1 }\nq = 2\n",
			func(d *Doc) error { _, err := d.Delete(p("p.s")); return err }, "q = 2\n"},
		{"delete a key of an inline table", "p = { s = 1, t = 2 }\n",
			func(d *Doc) error { _, err := d.Delete(p("p.s")); return err }, "p = { t = 2 }\n"},
		{"delete a table, its comment, sub-tables and dotted keys", "a = 1\nr.b.x = 0\n\n# about b\n[r.b]\nx = 1\n# inside\ny = 2\n\n[r.b.params]\ns = 1\n\n[r.c]\nz = 1\n",
			func(d *Doc) error { _, err := d.Delete(p("r.b")); return err }, "a = 1\n\n[r.c]\nz = 1\n"},
	}
	for _, c := range cases {
		d, err := Parse(c.text)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := c.edit(d); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := d.String(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
		if _, err := toml.Decode(d.String(), new(map[string]any)); err != nil {
			t.Errorf("%s: result does not decode: %v", c.name, err)
		}
	}
}

func TestDeleteAbsentAndSetOnATable(t *testing.T) {
	d, err := Parse("[t]\na = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Delete([]string{"u"}); ok || err != nil {
		t.Fatalf("delete absent = %v, %v", ok, err)
	}
	if err := d.Set(nil, []string{"t"}, int64(1)); err == nil || err.Error() != "set t: it is a table, not a value" {
		t.Fatalf("set on a table: %v", err)
	}
	if d.String() != "[t]\na = 1\n" {
		t.Fatalf("text changed: %q", d.String())
	}
}

func TestLine(t *testing.T) {
	d, err := Parse("# c\nr.c.x = 2\n[r.b]\np = { s = 1 }\n\n[d]\n")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{"r.b": 3, "r.b.p": 4, "r.b.p.s": 4, "r.b.q": 3, "d": 6, "r.c.x": 2, "z": 0} {
		if got := d.Line(strings.Split(key, ".")); got != want {
			t.Errorf("Line(%s) = %d, want %d", key, got, want)
		}
	}
}

func TestValueRoundTrips(t *testing.T) {
	for _, v := range []any{`C:\Users\me\bin\codefresh-mcp.exe`, `/opt/"quoted" dir/x`, "tab\there", "ünïcødé/日本", "bell\x07del\x7f",
		int64(-3), 2.0, 1e21, math.Inf(1), true, []any{"a", int64(1)}, map[string]any{"a b": "c", "d": map[string]any{}}} {
		var got map[string]any
		if _, err := toml.Decode("k = "+Value(v), &got); err != nil {
			t.Errorf("%#v: %s does not decode: %v", v, Value(v), err)
			continue
		}
		if Value(got["k"]) != Value(v) {
			t.Errorf("%#v: round trip gives %#v", v, got["k"])
		}
	}
}

func TestCheckLimits(t *testing.T) {
	if err := CheckLimits([]byte("a = 1\n"), Limits{MaxBytes: 5}); err == nil || err.Error() != "the file is 6 bytes, over the limit of 5 bytes" {
		t.Errorf("size: %v", err)
	}
	// A syntax error does not stop the count: the nesting after it is seen.
	text := "a = = 1\n\nb = " + strings.Repeat("[", 5) + strings.Repeat("]", 5) + "\n"
	if err := CheckLimits([]byte(text), Limits{MaxDepth: 4}); err == nil || err.Error() != "nested 5 levels deep, over the limit of 4 (tables, dotted keys, arrays and inline tables)" || err.(*LimitError).Line != 3 {
		t.Errorf("after a syntax error: %v", err)
	}
	if err := CheckLimits([]byte("a = 1 b\n"), Limits{MaxDepth: 4}); err != nil {
		t.Errorf("syntax errors are the decoder's: %v", err)
	}
}
