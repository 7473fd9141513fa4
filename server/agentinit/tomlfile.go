package agentinit

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/cfmcp/codefresh-mcp/pipeline/tomledit"
)

// Codex's config.toml is edited as text, touching only our own table's lines:
// decoding into a map and re-encoding would drop the user's comments and
// reorder every other table. Every edit is checked by decoding the result
// and comparing it with the original, so a file we cannot edit safely is
// reported, never written.

// tomlKV is one key of our table, in the order we write it.
type tomlKV struct {
	key      string
	value    any  // string, int64, []any (of string or map[string]any)
	userWins bool // keep the user's value when the key is already there
}

var headerLine = regexp.MustCompile(`^\s*\[`)

// upsertTOMLTable makes table (e.g. "mcp_servers.codefresh") hold the keys
// build returns (given the table's current keys, nil when absent) and returns
// the new text. comment goes above the header when the table is new.
func upsertTOMLTable(data, table, comment string, build func(existing map[string]any) []tomlKV) (string, error) {
	orig := map[string]any{}
	if _, err := toml.Decode(data, &orig); err != nil {
		return "", fmt.Errorf("not valid TOML (fix it and run init again): %w", err)
	}
	path := strings.Split(table, ".")
	existing, present := lookupTable(orig, path)
	if present && existing == nil {
		return "", fmt.Errorf("[%s] is not a table; fix it and run init again", table)
	}
	kvs := build(existing)

	lines := strings.Split(data, "\n")
	hdr := findTableHeader(lines, path)
	var out string
	switch {
	case hdr < 0 && present:
		return "", fmt.Errorf("[%s] is defined in a form init cannot edit in place (inline or dotted keys); remove it and run init again", table)
	case hdr < 0:
		var b strings.Builder
		b.WriteString(strings.TrimRight(data, "\n"))
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		if comment != "" {
			b.WriteString("# " + comment + "\n")
		}
		b.WriteString("[" + table + "]\n")
		for _, kv := range kvs {
			b.WriteString(kv.key + " = " + tomledit.Value(kv.value) + "\n")
		}
		out = b.String()
	default:
		edited, err := editTableLines(lines, hdr, kvs, existing)
		if err != nil {
			return "", fmt.Errorf("[%s]: %w", table, err)
		}
		out = strings.Join(edited, "\n")
	}

	if err := checkTOMLEdit(orig, out, path, kvs); err != nil {
		return "", fmt.Errorf("[%s]: refusing to write: %w", table, err)
	}
	return out, nil
}

// lookupTable finds the table at path; present reports whether the key exists
// at all (tbl is nil when it exists but is not a table).
func lookupTable(m map[string]any, path []string) (tbl map[string]any, present bool) {
	cur := m
	for i, p := range path {
		v, ok := cur[p]
		if !ok {
			return nil, false
		}
		next, isMap := v.(map[string]any)
		if !isMap {
			return nil, true
		}
		if i == len(path)-1 {
			return next, true
		}
		cur = next
	}
	return nil, false
}

// findTableHeader returns the index of the line "[a.b]" for path (bare,
// "double" or 'single' quoted parts, spaces allowed), or -1.
func findTableHeader(lines []string, path []string) int {
	parts := make([]string, len(path))
	for i, p := range path {
		q := regexp.QuoteMeta(p)
		parts[i] = `(?:` + q + `|"` + q + `"|'` + q + `')`
	}
	re := regexp.MustCompile(`^\s*\[\s*` + strings.Join(parts, `\s*\.\s*`) + `\s*\]\s*(?:#.*)?$`)
	for i, l := range lines {
		if re.MatchString(strings.TrimSuffix(l, "\r")) {
			return i
		}
	}
	return -1
}

// editTableLines rewrites our keys inside the table that starts at line hdr
// and keeps every other line (the user's keys, comments, sub-tables) as is.
func editTableLines(lines []string, hdr int, kvs []tomlKV, existing map[string]any) ([]string, error) {
	// Walk the table's key/value entries; a value may span lines (arrays,
	// multi-line strings), so an entry ends where its lines first parse.
	type span struct{ from, to int } // lines [from, to)
	found := map[string]span{}
	i := hdr + 1
	for i < len(lines) {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		if headerLine.MatchString(l) {
			break
		}
		end := -1
		for j := i + 1; j <= len(lines); j++ {
			if _, err := toml.Decode(strings.Join(lines[i:j], "\n"), &map[string]any{}); err == nil {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("cannot parse the entry at line %d", i+1)
		}
		key := strings.Trim(strings.TrimSpace(strings.SplitN(l, "=", 2)[0]), `"'`)
		found[key] = span{i, end}
		i = end
	}

	replace := map[int]span{} // start line -> span, for keys we rewrite
	repl := map[int]string{}
	var inserts []string
	for _, kv := range kvs {
		if kv.userWins {
			if _, ok := existing[kv.key]; ok {
				continue
			}
		}
		line := kv.key + " = " + tomledit.Value(kv.value)
		if s, ok := found[kv.key]; ok {
			replace[s.from] = s
			repl[s.from] = line
		} else {
			inserts = append(inserts, line)
		}
	}

	out := make([]string, 0, len(lines)+len(inserts))
	for i := 0; i < len(lines); {
		if s, ok := replace[i]; ok {
			out = append(out, repl[i])
			i = s.to
			continue
		}
		out = append(out, lines[i])
		if i == hdr {
			out = append(out, inserts...)
		}
		i++
	}
	return out, nil
}

// checkTOMLEdit proves the edit: the result parses, our table holds our
// values, and everything else decodes exactly as before.
func checkTOMLEdit(orig map[string]any, out string, path []string, kvs []tomlKV) error {
	got := map[string]any{}
	if _, err := toml.Decode(out, &got); err != nil {
		return fmt.Errorf("the edited file would not parse: %w", err)
	}
	gotTbl, _ := lookupTable(got, path)
	origTbl, _ := lookupTable(orig, path)
	if gotTbl == nil {
		return errors.New("the table is missing after the edit")
	}
	for _, kv := range kvs {
		if kv.userWins && origTbl != nil {
			if _, ok := origTbl[kv.key]; ok {
				continue
			}
		}
		if !reflect.DeepEqual(normalizeTOML(gotTbl[kv.key]), normalizeTOML(kv.value)) {
			return fmt.Errorf("key %q did not take the new value", kv.key)
		}
	}
	strip := func(m map[string]any) map[string]any {
		c := deepCopy(m).(map[string]any)
		if t, _ := lookupTable(c, path); t != nil {
			for _, kv := range kvs {
				delete(t, kv.key)
			}
		}
		return c
	}
	a, b := strip(orig), strip(got)
	if origTbl == nil { // the table is new: drop it (and empty parents) from the result
		removePath(b, path)
	}
	if !reflect.DeepEqual(a, b) {
		return errors.New("the edit would change other settings")
	}
	return nil
}

func removePath(m map[string]any, path []string) {
	if len(path) == 1 {
		if t, ok := m[path[0]].(map[string]any); ok && len(t) == 0 {
			delete(m, path[0])
		}
		return
	}
	if t, ok := m[path[0]].(map[string]any); ok {
		removePath(t, path[1:])
		if len(t) == 0 {
			delete(m, path[0])
		}
	}
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopy(e)
		}
		return c
	case []map[string]any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = deepCopy(e)
		}
		return c
	default:
		return v
	}
}

// normalizeTOML maps decoded and built values to one shape for comparison.
func normalizeTOML(v any) any {
	switch t := v.(type) {
	case []string:
		c := make([]any, len(t))
		for i, s := range t {
			c[i] = s
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = normalizeTOML(e)
		}
		return c
	case int:
		return int64(t)
	default:
		return v
	}
}
