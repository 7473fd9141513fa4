package tomledit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Doc is a TOML text being edited. Each edit rewrites only the lines of the
// key it changes; callers decode the result to prove the edit did what they
// meant (a text edit cannot see every TOML form).
type Doc struct {
	lines   []string // the text split at "\n"; the last is "" when it ends with one
	crlf    bool
	entries []entry
}

// Parse splits text into entries for editing.
func Parse(text string) (*Doc, error) {
	s := scanner{src: text}
	entries, err := s.scan()
	if err != nil {
		return nil, err
	}
	return &Doc{lines: strings.Split(text, "\n"), crlf: strings.Contains(text, "\r\n"), entries: entries}, nil
}

// String is the edited text.
func (d *Doc) String() string { return strings.Join(d.lines, "\n") }

// Line is the 1-based line that defines path: its key, the inline table or
// the table header holding it, or 0 when the text does not name it.
func (d *Doc) Line(path []string) int {
	if e, ok := d.find(func(e entry) bool { return e.kind != keyVal && slices.Equal(e.table, path) }); ok {
		return e.from + 1
	}
	best, line := -1, 0
	for _, e := range d.entries {
		f := e.full()
		if e.kind != keyVal {
			f = e.table
		}
		n := commonPrefix(f, path)
		if n == len(f) || n == len(path) {
			if n > best {
				best, line = n, e.from+1
			}
		}
	}
	return line
}

// Set gives path the value v. A key already written is changed on its own
// line (an inline table holding it is rewritten); a new key goes to the end
// of the deepest table that holds it, or where keys of table already are, or
// into a new [table] at the end of the file. table is how much of path is a
// table name when the key is new: for a.b.c with table a.b, "[a.b] c = v".
func (d *Doc) Set(table, path []string, v any) error {
	if !hasPrefix(path, table) || len(path) == len(table) {
		return fmt.Errorf("set %s: the table %s does not hold the key", DottedKey(path), DottedKey(table))
	}
	if e, ok := d.keyAt(path); ok {
		return d.replace(e, Value(v))
	}
	if e, ok := d.inlineHolding(path); ok {
		m, err := d.inlineTable(e)
		if err != nil {
			return err
		}
		setIn(m, path[len(e.full()):], v)
		return d.replace(e, Value(m))
	}
	if d.isTable(path) {
		return fmt.Errorf("set %s: it is a table, not a value", DottedKey(path))
	}
	line := func(rel []string, indent string) string { return indent + DottedKey(rel) + " = " + Value(v) }
	if h, ok := d.deepestHeader(path); ok && len(h.table) >= len(table) {
		at, indent := d.sectionEnd(h)
		d.insert(at, line(path[len(h.table):], indent))
		return d.reparse()
	}
	if len(table) == 0 {
		at, aboveTable := d.rootEnd()
		if aboveTable {
			d.insert(at, "")
		}
		d.insert(at, line(path, ""))
		return d.reparse()
	}
	// Keys of table written as dotted keys elsewhere (destination.type = ...):
	// the new one goes next to the last of them.
	for _, e := range slices.Backward(d.entries) {
		if e.kind == keyVal && hasPrefix(e.full(), table) && hasPrefix(path, e.table) {
			d.insert(e.to, leadingSpace(e.prefix)+DottedKey(path[len(e.table):])+" = "+Value(v))
			return d.reparse()
		}
	}
	d.appendTable(table, line(path[len(table):], ""))
	return d.reparse()
}

// Delete removes path: a key's lines, a key of an inline table, or a whole
// table (its header, its keys and its sub-tables). It reports whether the
// text held path.
func (d *Doc) Delete(path []string) (bool, error) {
	if e, ok := d.keyAt(path); ok {
		d.lines = slices.Delete(d.lines, e.from, e.to)
		return true, d.reparse()
	}
	if e, ok := d.inlineHolding(path); ok {
		m, err := d.inlineTable(e)
		if err != nil {
			return false, err
		}
		if !deleteIn(m, path[len(e.full()):]) {
			return false, nil
		}
		if len(m) == 0 {
			d.lines = slices.Delete(d.lines, e.from, e.to)
			return true, d.reparse()
		}
		return true, d.replace(e, Value(m))
	}
	// A table: remove from the last line up, so earlier line numbers hold.
	type span struct{ from, to int }
	var spans []span
	inRemoved := false // in the section of a header being removed
	for i, e := range d.entries {
		switch {
		case e.kind != keyVal:
			inRemoved = hasPrefix(e.table, path)
			if inRemoved {
				spans = append(spans, span{d.attachedComments(e.from), d.sectionLastLine(i)})
			}
		case !inRemoved && hasPrefix(e.full(), path) && len(e.full()) > len(path):
			spans = append(spans, span{e.from, e.to})
		}
	}
	if len(spans) == 0 {
		return false, nil
	}
	for _, s := range slices.Backward(spans) {
		d.lines = slices.Delete(d.lines, s.from, s.to)
		// Keep one blank line where the table was between two blank lines.
		if s.from > 0 && s.from < len(d.lines) && isBlank(d.lines[s.from-1]) && isBlank(d.lines[s.from]) {
			d.lines = slices.Delete(d.lines, s.from, s.from+1)
		}
	}
	return true, d.reparse()
}

// replace rewrites entry e with a new value, keeping its key as written
// and a trailing comment.
func (d *Doc) replace(e entry, value string) error {
	d.lines = slices.Replace(d.lines, e.from, e.to, e.prefix+value+e.tail+d.cr())
	return d.reparse()
}

func (d *Doc) insert(at int, line string) {
	d.lines = slices.Insert(d.lines, at, line+d.cr())
}

func (d *Doc) cr() string {
	if d.crlf {
		return "\r"
	}
	return ""
}

// appendTable adds "[table]" and its first key at the end of the text,
// after a blank line, and ends the text with a newline.
func (d *Doc) appendTable(table []string, line string) {
	lines := d.lines
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if n := len(lines); n > 0 && !isBlank(lines[n-1]) {
		lines = append(lines, d.cr())
	}
	d.lines = append(lines, "["+DottedKey(table)+"]"+d.cr(), line+d.cr(), "")
}

func (d *Doc) reparse() error {
	text := d.String()
	nd, err := Parse(text)
	if err != nil {
		return fmt.Errorf("the edited text does not scan: %w", err)
	}
	*d = *nd
	return nil
}

func (d *Doc) find(match func(entry) bool) (entry, bool) {
	for _, e := range d.entries {
		if match(e) {
			return e, true
		}
	}
	return entry{}, false
}

func (d *Doc) keyAt(path []string) (entry, bool) {
	return d.find(func(e entry) bool { return e.kind == keyVal && slices.Equal(e.full(), path) })
}

// inlineHolding finds the key whose value (an inline table) holds path.
func (d *Doc) inlineHolding(path []string) (entry, bool) {
	return d.find(func(e entry) bool {
		f := e.full()
		return e.kind == keyVal && len(f) < len(path) && hasPrefix(path, f)
	})
}

func (d *Doc) isTable(path []string) bool {
	_, ok := d.find(func(e entry) bool {
		f := e.full()
		if e.kind != keyVal {
			f = e.table
		}
		return len(f) >= len(path) && hasPrefix(f, path)
	})
	return ok
}

// inlineTable decodes entry e's value, which must be an inline table.
func (d *Doc) inlineTable(e entry) (map[string]any, error) {
	var m map[string]any
	if _, err := toml.Decode("v = "+e.valueRaw, &m); err != nil {
		return nil, fmt.Errorf("line %d: %w", e.from+1, err)
	}
	t, ok := m["v"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("line %d: %s is not a table", e.from+1, DottedKey(e.full()))
	}
	return t, nil
}

// deepestHeader is the [table] header with the longest name holding path.
func (d *Doc) deepestHeader(path []string) (entry, bool) {
	var best entry
	found := false
	for _, e := range d.entries {
		if e.kind == tableHeader && len(e.table) < len(path) && hasPrefix(path, e.table) && (!found || len(e.table) > len(best.table)) {
			best, found = e, true
		}
	}
	return best, found
}

// sectionEnd is the line after the last key of header h's table, and that
// key's indent; comments after it belong to whatever follows.
func (d *Doc) sectionEnd(h entry) (int, string) {
	at, indent := h.to, ""
	for _, e := range d.entries {
		if e.from <= h.from {
			continue
		}
		if e.kind != keyVal {
			break
		}
		at, indent = e.to, leadingSpace(e.prefix)
	}
	return at, indent
}

// sectionLastLine is the line after the last key of the header at index i.
func (d *Doc) sectionLastLine(i int) int {
	end := d.entries[i].to
	for _, e := range d.entries[i+1:] {
		if e.kind != keyVal {
			break
		}
		end = e.to
	}
	return end
}

// rootEnd is where a new top-level key goes: after the last one, else
// above the first table and the comments that introduce it (aboveTable).
func (d *Doc) rootEnd() (at int, aboveTable bool) {
	for _, e := range slices.Backward(d.entries) {
		if e.kind == keyVal && len(e.table) == 0 {
			return e.to, false
		}
	}
	for _, e := range d.entries {
		if e.kind != keyVal {
			return d.attachedComments(e.from), true
		}
	}
	if n := len(d.lines); n > 0 && d.lines[n-1] == "" {
		return n - 1, false // before the final newline
	}
	return len(d.lines), false
}

// attachedComments is the first of the comment lines right above line.
func (d *Doc) attachedComments(line int) int {
	for line > 0 && strings.HasPrefix(strings.TrimSpace(d.lines[line-1]), "#") {
		line--
	}
	return line
}

func setIn(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func deleteIn(m map[string]any, path []string) bool {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return false
		}
		m = next
	}
	if _, ok := m[path[len(path)-1]]; !ok {
		return false
	}
	delete(m, path[len(path)-1])
	return true
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

func commonPrefix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }
