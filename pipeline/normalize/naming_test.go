package normalize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Cases from dlt's tests/common/normalizers/test_naming_snake_case.py.
// dlt's normalize_identifier works on one identifier; keys go through
// normalize_path, which also breaks them at "__".
func TestIdentifierDltCases(t *testing.T) {
	cases := []struct{ in, want string }{
		{"event_value", "event_value"},
		{"event value", "event_value"},
		{"event-.!:*<>value", "event_x_value"},
		{"1event_n'", "_1event_nx"},
		{"123event_n'", "_123event_nx"},
		{"123BaNaNa", "_123_ba_na_na"},
		{"BANANA", "banana"},
		{"BAN_ANA", "ban_ana"},
		{"BANaNA", "ba_na_na"},
		{"Small Love Potion", "small_love_potion"},
		{" Small Love Potion ", "small_love_potion"},
		{"BANANA_", "bananax"},
		{"BANANA____", "bananaxxxx"},
		{"+-!$*@#=|:", "x_xa_lx"},
		{"+1", "x1"},
		{"-1", "_1"},
		{"+-*@|", "x_xal"}, // the reduced alphabet itself
		{"event__value_value2____", "event_value_value2xxxx"},
	}
	for _, c := range cases {
		if got := normalizeIdentifier(pyStrip(c.in), 0); got != c.want {
			t.Errorf("normalize_identifier(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeKeys(t *testing.T) {
	cases := []struct{ in, want string }{
		{"event__value_value2____", "event__value_value2"}, // trailing "__" pairs are separators
		{"BANANA_", "bananax"},
		{" Small Love Potion ", "small_love_potion"},
		{"camelCase", "camel_case"},
		{"event-data", "event_data"},
		{"CreatedAt", "created_at"},
		{"createdAt", "created_at"},
		{"pipelineTriggerId", "pipeline_trigger_id"},
		{"repoURL", "repo_url"},
		{"ABCDef", "abc_def"},
		{"a1B2C", "a1_b2_c"},
		{"_id", "_id"},
		{"select", "select"}, // reserved words stay: destinations quote identifiers
	}
	for _, c := range cases {
		if got := Identifier(c.in); got != c.want {
			t.Errorf("Identifier(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Cases from dlt's test_normalize_path and test_normalizes_underscores.
func TestNormalizePathDltCases(t *testing.T) {
	cases := []struct{ in, want string }{
		{"small_love_potion", "small_love_potion"},
		{"small__love__potion", "small__love__potion"},
		{"Small_Love_Potion", "small_love_potion"},
		{"Small__Love__Potion", "small__love__potion"},
		{"Small Love Potion", "small_love_potion"},
		{"Small  Love  Potion", "small_love_potion"},
		{"Small___Love____Potion_____x", "small___love__potion___x"},
		{"small___love__potion___x", "small___love__potion___x"},
		{"e_vent__value_value2___", "e_vent__value_value2__x"},
	}
	for _, c := range cases {
		if got := normalizePath(c.in, 0); got != c.want {
			t.Errorf("normalizePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBlankKeysBecomeEmpty(t *testing.T) {
	for _, k := range []string{"", "   ", "\t\n", "\x1c", "__", "____"} {
		if got := normalizeKey(k, 0); got != emptyKey {
			t.Errorf("normalizeKey(%q) = %q, want %q", k, got, emptyKey)
		}
	}
}

// The fixture of dlt's test_tag_generation.
func TestNameTagDltFixture(t *testing.T) {
	fixture := [][2]string{
		{"3f17271231504b8cf65690bcdc379df8a3b8aabe12efe1ea82848ec5f497cb69", "gds0iw"},
		{"58e5c351b53ffe1233e0656a532a721ae1d2ac7af71b6cfec8ceb64c63b10721", "uyboiq"},
		{"e3f34629839cedcabba95354e48a78dc80b0cd35c02ddfbbf20196ba7f968866", "51wdcg"},
		{"f0f22b8e8c58389a6c21dbcc1e261ee0354704e24996a0ec541276f58d1f2f52", "bpm7ca"},
		{"0d0de95c7c12ceee919d28d22c970285d80a36dea4fe32dbdd667a888ae6d47f", "doqcuq"},
		{"4973509ea648ddfbaf6c50e1fef33c3b0a3d1c1a82dff543a8255e60b6572567", "cl7rpq"},
		{"877c89f0dcbd24b8c3f787624ddca09deb6a44e4a72f12527209d78e4d9ed247", "xrnycg"},
		{"064df58cd3a51c50dbf30e975e63961a501212ff8e8ca544ab396727f4b8a367", "kgiizq"},
		{"c8f7da1b5c44c1ca10da67c1514c4cf365e4d5912685b25a39206d5c8c1966a1", "dj9zqq"},
		{"222d42333592ea87823fd2e7868d59fb0aded20603f433319691918299513cb6", "futp4w"},
		{"757d64eb242a91b494ec9e2661a7946410d68144d33860d6f4154092d65d5009", "wetlpg"},
		{"3c7348d43478292b4c4e0689d41a536fc8ccabdbd9fb9d0dfbe757a83d34cebe", "avxagg"},
		{"6896fac1546c201d4dc91d2c51bdcd9c820fe92fd0555947e59fdc89ca6f045d", "wbaj3w"},
		{"b4def322a4487dd90fcc4abd2f1efde0cdce81d8e0a580fd1897203ab4ebcebe", "whojmw"},
		{"07d974124b92adafc90473a3968ceb5e8329d815e0e48260473d70a781adb8ae", "aiqcea"},
		{"c67183a762e379290652cc26a786b21eff347643b1cc9012138f460901ce5d53", "zfztpg"},
		{"430976db5adef67d0009aa3cd9a2daca106829b36a7232732c5d694e7197c6d1", "evr7rq"},
		{"c1c8c0ff6933fa4e23fab5605139124b2c6cda0150a412daaea274818ee46e35", "er0nxq"},
		{"0060c538b6ce02b8d8e2c85b4e2810c58b846f4096ed7ab871fc092c45ac09d9", "zh9xgg"},
		{"4d4b99ff5d2a3d5cd076782c9cd088cd85d5c789d7de6bdc19c1d206b687d485", "2vvr5a"},
	}
	for _, f := range fixture {
		if got := nameTag(f[0]); got != f[1] {
			t.Errorf("nameTag(%s) = %q, want %q", f[0][:8], got, f[1])
		}
	}
}

// dlt's test_tag_placement.
func TestTrimAndTagPlacement(t *testing.T) {
	tag := "123456"
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"DLTHUB", 6, tag},
		{"prefDLTHUBsuf", 6, tag},
		{"DLT_HUB", 7, "D" + tag},
		{"prefDLT_HUBsuf", 7, "p" + tag},
		{"DLT_HUB_", 8, "D" + tag + "_"},
		{"prefDLT_HUB_suf", 8, "p" + tag + "f"},
	}
	for _, c := range cases {
		if got := trimAndTag(c.in, tag, c.max); got != c.want {
			t.Errorf("trimAndTag(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

// dlt's test_shorten_identifier.
func TestShortenIdentifier(t *testing.T) {
	long := strings.Repeat("prospects_external_data__data365_member__member", 8)
	if got := shorten(long, long, 0); got != long {
		t.Error("no limit must not shorten")
	}
	if got := shorten("012345678", "xxx012345678xxx", 10); got != "012345678" {
		t.Errorf("within limit: %q", got)
	}
	if got := shorten("0123456789", "xxx012345678xx?", 10); got != "0123456789" {
		t.Errorf("at limit: %q", got)
	}
	const ident = "she played cello well"
	got := shorten(ident, ident, 20)
	if got != "she plauanpualo well" || !strings.Contains(got, nameTag(ident)) {
		t.Errorf("shortened %q, tag %q", got, nameTag(ident))
	}
	// The tag comes from the original, not from the normalized string.
	if a, b := shorten(ident, "raw one", 20), shorten(ident, "raw two", 20); a == b {
		t.Error("tags of different originals must differ")
	}
}

// dlt's test_normalize_and_shorten_deterministically: names cut at 16
// characters carry tags computed over the full, unshortened path.
func TestNormalizeAndShortenDeterministically(t *testing.T) {
	s := NewSchema("other")
	s.EnsureRoot("s", "s", "", nil)
	n := New(s, Options{LoadID: "1762162.1212", MaxIdentifierLength: 16})
	rec := decode(t, `{
		"short>ident:1": {"short>ident:2": {"short>ident:3": "a"}},
		"LIST+ident:1": {"LIST+ident:2": {"LIST+ident:3": [1]}},
		"long+long:SO+LONG:_>16": true
	}`)
	c := &collect{}
	if err := n.Normalize("s", rec, c); err != nil {
		t.Fatal(err)
	}
	for _, tb := range s.Tables {
		if utf8.RuneCountInString(tb.Name) > 16 {
			t.Errorf("table %q longer than 16", tb.Name)
		}
		for _, col := range tb.Columns {
			if utf8.RuneCountInString(col.Name) > 16 {
				t.Errorf("column %q longer than 16", col.Name)
			}
		}
	}
	root := s.Table("s")
	mustHaveColumnWith(t, root, nameTag("short_ident_1__short_ident_2__short_ident_3"))
	mustHaveColumnWith(t, root, nameTag("long+long:SO+LONG:_>16"))
	childTag := nameTag("s__lis_txident_1__lis_txident_2__lis_txident_3")
	if len(s.Tables) != 2 || !strings.Contains(s.Tables[1].Name, childTag) {
		t.Errorf("child table %v should carry tag %q", s.Tables, childTag)
	}
	if got := len(c.rows[s.Tables[1].Name]); got != 1 {
		t.Errorf("child rows = %d, want 1", got)
	}
}

func mustHaveColumnWith(t *testing.T, tb *Table, part string) {
	t.Helper()
	for _, c := range tb.Columns {
		if strings.Contains(c.Name, part) {
			return
		}
	}
	t.Errorf("table %s: no column containing %q in %v", tb.Name, part, tb.ColumnNames())
}
