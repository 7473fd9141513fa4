package normalize

import (
	"crypto/rand"
	"crypto/sha3"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// DefaultMaxNesting is how many levels of objects are flattened and of
// lists are turned into child tables before values are kept as json.
const DefaultMaxNesting = 3

// Options configure a Normalizer.
type Options struct {
	LoadID string // written to _dlt_load_id of every row
	// MaxNesting: 0 means DefaultMaxNesting (3); deeper values are stored
	// as json. A negative value keeps every nested value as json.
	MaxNesting int
	// MaxIdentifierLength: 0 means DefaultMaxIdentifierLength (127). Use
	// 63 for PostgreSQL, as dlt does.
	MaxIdentifierLength int
}

// Normalizer turns records into rows of a Schema, evolving the schema as
// dlt's relational normalizer and coerce_row do. It is not safe for
// concurrent use; several Normalizers may share one Schema.
//
// A record is first normalized against the schema as it is, iterating
// objects in Go's map order. If the record needs a new table or column, or
// two of its keys map to one name, it is normalized again with its keys
// sorted and the schema evolving, so new columns come in a deterministic
// order and colliding keys resolve deterministically (the later key in
// sorted order wins, as the later key does in dlt).
type Normalizer struct {
	schema     *Schema
	loadID     any // boxed once, shared by every row
	maxNesting int
	maxLen     int

	keys    map[string]string // source key -> normalized name
	roots   map[string]*tstate
	states  map[*Table]*tstate
	newCols []string

	ids   idSource
	shake *sha3.SHAKE
	hbuf  []byte

	// per record
	slow    bool // the evolving pass
	changed bool
	rootID  any // this record's random root id, boxed once
	arena   []any
	used    int
	rows    []pendingRow
	stack   []frame
	pairs   []pair
	lists   []listRef
	pad     []any
}

// tstate is the normalizer's view of one table: a tree of the source keys
// seen at each position, resolved to column names and positions.
type tstate struct {
	t     *Table
	path  string // normalized path from the root table, before shortening
	root  node   // the row's own keys
	names map[string]*node
	types []vtype // aligned with t.Columns
	sys   [nSys]int
	value *node // "value" of a list of scalars
	list  *node // "list" of a list inside a list
}

// node is one source key at one position of a table's rows.
type node struct {
	name    string // column name
	path    string // column path before shortening
	col     int    // position in the table's columns, -1 while unknown
	vcols   [nTypes]int
	kids    map[string]*node
	child   *tstate // the child table its lists go to
	aliased bool    // another key maps to the same name
	sys     bool    // a column the normalizer sets itself: source values are dropped
}

const (
	sysLoadID = iota
	sysID
	sysParentID
	sysListIdx
	sysRootID
	nSys
)

// dlt's column order for system columns added to a new table.
var (
	rootSys  = []int{sysLoadID, sysID}
	childSys = []int{sysRootID, sysLoadID, sysParentID, sysListIdx, sysID}
	sysNames = [nSys]string{ColLoadID, ColID, ColParentID, ColListIdx, ColRootID}
)

type frame struct {
	obj    map[string]any
	lvl    int
	parent *node
}

type pair struct {
	nd *node
	v  any
}

type listRef struct {
	nd    *node
	items []any
}

type pendingRow struct {
	ts   *tstate
	vals []any
}

// errSlow asks for the evolving pass.
var errSlow = errors.New("normalize: schema must evolve")

// New returns a Normalizer that writes into schema.
func New(schema *Schema, opts Options) *Normalizer {
	n := &Normalizer{
		schema:     schema,
		loadID:     opts.LoadID,
		maxNesting: opts.MaxNesting,
		maxLen:     opts.MaxIdentifierLength,
		keys:       map[string]string{},
		roots:      map[string]*tstate{},
		states:     map[*Table]*tstate{},
		shake:      sha3.NewSHAKE128(),
	}
	switch {
	case n.maxNesting == 0:
		n.maxNesting = DefaultMaxNesting
	case n.maxNesting < 0:
		n.maxNesting = 0
	}
	if n.maxLen <= 0 {
		n.maxLen = DefaultMaxIdentifierLength
	}
	return n
}

// NewColumns are the columns added by this normalizer, as "table.column",
// in the order they were added.
func (n *Normalizer) NewColumns() []string { return slices.Clone(n.newCols) }

// Normalize writes rec as rows of the root table root (which EnsureRoot
// created) and its child tables: the root row first, then child rows depth
// first. Rows go to sink once the whole record is normalized.
func (n *Normalizer) Normalize(root string, rec map[string]any, sink Sink) error {
	s := n.schema
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := n.rootState(root)
	if err != nil {
		return err
	}
	n.rootID = n.ids.next()
	n.changed, n.slow = false, false
	err = n.record(ts, rec)
	if errors.Is(err, errSlow) {
		n.reset()
		n.slow = true
		err = n.record(ts, rec)
	}
	if n.changed {
		s.bump()
	}
	if err == nil {
		err = n.emit(sink)
	} else {
		err = fmt.Errorf("normalize: %w", err)
	}
	n.reset()
	return err
}

func (n *Normalizer) rootState(root string) (*tstate, error) {
	if ts := n.roots[root]; ts != nil {
		return ts, nil
	}
	name := normalizeKey(root, DefaultMaxIdentifierLength)
	t := n.schema.table(name)
	if t == nil {
		return nil, fmt.Errorf("normalize: no root table %q in schema %s: call EnsureRoot first", name, n.schema.Name)
	}
	if t.Parent != "" {
		return nil, fmt.Errorf("normalize: table %q is a child of %q, not a root table", name, t.Parent)
	}
	ts := n.state(t, name)
	n.roots[root] = ts
	return ts, nil
}

func (n *Normalizer) state(t *Table, path string) *tstate {
	if ts := n.states[t]; ts != nil {
		return ts
	}
	ts := &tstate{t: t, path: path, root: node{col: -1}, names: map[string]*node{}}
	for i := range ts.sys {
		ts.sys[i] = -1
	}
	n.states[t] = ts
	return ts
}

func (n *Normalizer) record(ts *tstate, rec map[string]any) error {
	return n.objectRow(ts, rec, n.maxNesting, nil, 0, nil)
}

// objectRow normalizes an object into a row of ts; lvl is how many more
// levels may be flattened or nested.
func (n *Normalizer) objectRow(ts *tstate, obj map[string]any, lvl int, parentID any, idx int, rootID any) error {
	ps, ls := len(n.pairs), len(n.lists)
	if err := n.flatten(ts, obj, lvl); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, lvl, parentID, idx, rootID)
}

// listRow normalizes a list found inside a list: dlt makes a row holding
// it under the key "list".
func (n *Normalizer) listRow(ts *tstate, items []any, lvl int, parentID any, idx int, rootID any) error {
	ps, ls := len(n.pairs), len(n.lists)
	if ts.list == nil {
		nd, err := n.kid(ts, &ts.root, "list")
		if err != nil {
			return err
		}
		ts.list = nd
	}
	if err := n.visit(ts, ts.list, items, lvl); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, lvl, parentID, idx, rootID)
}

// scalarRow normalizes a scalar found in a list into a row with a "value"
// column.
func (n *Normalizer) scalarRow(ts *tstate, v any, parentID any, idx int, rootID any) error {
	ps, ls := len(n.pairs), len(n.lists)
	if ts.value == nil {
		nd, err := n.kid(ts, &ts.root, ColValue)
		if err != nil {
			return err
		}
		ts.value = nd
	}
	if err := n.visit(ts, ts.value, v, 0); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, 0, parentID, idx, rootID)
}

// flatten collects the values of obj and its nested objects as (column,
// value) pairs and its lists, walking a stack as dlt does (an object's own
// keys first, then its nested objects, last pushed first).
func (n *Normalizer) flatten(ts *tstate, obj map[string]any, lvl int) error {
	base := len(n.stack)
	n.stack = append(n.stack, frame{obj, lvl, &ts.root})
	for len(n.stack) > base {
		f := n.stack[len(n.stack)-1]
		n.stack = n.stack[:len(n.stack)-1]
		if n.slow {
			keys := make([]string, 0, len(f.obj))
			for k := range f.obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				nd, err := n.kid(ts, f.parent, k)
				if err != nil {
					return err
				}
				if err := n.visit(ts, nd, f.obj[k], f.lvl); err != nil {
					return err
				}
			}
			continue
		}
		for k, v := range f.obj {
			nd, err := n.kid(ts, f.parent, k)
			if err != nil {
				return err
			}
			if err := n.visit(ts, nd, v, f.lvl); err != nil {
				return err
			}
		}
	}
	return nil
}

// visit files one value: nested objects are flattened and lists become
// child rows while lvl allows and the column is not already json.
func (n *Normalizer) visit(ts *tstate, nd *node, v any, lvl int) error {
	if nd.aliased && !n.slow {
		return errSlow
	}
	switch x := v.(type) {
	case map[string]any:
		if lvl > 0 && !n.isJSONColumn(ts, nd) {
			n.stack = append(n.stack, frame{x, lvl - 1, nd})
			return nil
		}
	case []any:
		if lvl > 0 && !n.isJSONColumn(ts, nd) {
			n.lists = append(n.lists, listRef{nd, x})
			return nil
		}
	}
	if !nd.sys {
		n.pairs = append(n.pairs, pair{nd, v})
	}
	return nil
}

// kid returns the node of key k under parent, normalizing the name once.
func (n *Normalizer) kid(ts *tstate, parent *node, k string) (*node, error) {
	if nd := parent.kids[k]; nd != nil {
		return nd, nil
	}
	nk, ok := n.keys[k]
	if !ok {
		nk = normalizeKey(k, n.maxLen)
		n.keys[k] = nk
	}
	path := nk
	if parent.path != "" {
		path = parent.path + PathSeparator + nk
	}
	nd := &node{name: shortenFragments(path, n.maxLen), path: path, col: -1}
	nd.sys = nd.name == ColLoadID ||
		(ts.t.Parent != "" && (nd.name == ColParentID || nd.name == ColListIdx || nd.name == ColRootID))
	if parent.kids == nil {
		parent.kids = map[string]*node{}
	}
	parent.kids[k] = nd
	if alias(ts, nd.name, nd) && !n.slow {
		return nil, errSlow
	}
	return nd, nil
}

// alias registers nd under key and reports whether another node already
// has it; both are then marked, and records holding them take the slow pass.
func alias(ts *tstate, key string, nd *node) bool {
	other := ts.names[key]
	if other == nil {
		ts.names[key] = nd
		return false
	}
	if other == nd {
		return false
	}
	other.aliased, nd.aliased = true, true
	return true
}

// finishRow writes the pairs collected since ps into a new row with its
// system columns, then normalizes the lists collected since ls into child
// rows. Ids travel boxed (strings in an any) so each is boxed only once.
func (n *Normalizer) finishRow(ts *tstate, ps, ls, lvl int, parentID any, idx int, rootID any) error {
	if n.slow {
		n.dedupe(ts, ps, ls)
	}
	ts.sync()
	row := n.alloc(len(ts.t.Columns))
	for _, p := range n.pairs[ps:] {
		if err := n.put(ts, &row, p.nd, p.v); err != nil {
			return err
		}
	}
	n.pairs = n.pairs[:ps]
	isRoot := ts.t.Parent == ""
	if err := n.ensureSystem(ts, isRoot); err != nil {
		return err
	}
	if len(row) < len(ts.t.Columns) {
		row = grow(row, len(ts.t.Columns))
	}

	// A _dlt_id in the source is kept, as dlt does.
	var id any
	if s, _ := row[ts.sys[sysID]].(string); s != "" {
		id = row[ts.sys[sysID]]
	}
	if isRoot {
		if id == nil {
			id = n.rootID
		}
		rootID = id
	} else {
		if id == nil {
			id = n.childID(parentID.(string), ts.t.Name, idx)
		}
		row[ts.sys[sysParentID]] = parentID
		row[ts.sys[sysListIdx]] = int64(idx)
		row[ts.sys[sysRootID]] = rootID
	}
	row[ts.sys[sysLoadID]] = n.loadID
	row[ts.sys[sysID]] = id
	n.rows = append(n.rows, pendingRow{ts, row})

	end := len(n.lists)
	for i := ls; i < end; i++ {
		l := n.lists[i]
		if len(l.items) == 0 {
			continue
		}
		child, err := n.childState(ts, l.nd)
		if err != nil {
			return err
		}
		for j, item := range l.items {
			switch x := item.(type) {
			case map[string]any:
				err = n.objectRow(child, x, lvl-1, id, j, rootID)
			case []any:
				err = n.listRow(child, x, lvl-2, id, j, rootID)
			default:
				err = n.scalarRow(child, item, id, j, rootID)
			}
			if err != nil {
				return err
			}
		}
	}
	n.lists = n.lists[:ls]
	return nil
}

// dedupe keeps one value per column name and one list per child table:
// the later one, at the position of the first (a Python dict's behaviour).
func (n *Normalizer) dedupe(ts *tstate, ps, ls int) {
	pairs := n.pairs[ps:]
	seen := make(map[string]int, len(pairs))
	k := 0
	for _, p := range pairs {
		if j, ok := seen[p.nd.name]; ok {
			pairs[j].v = p.v
			continue
		}
		seen[p.nd.name] = k
		pairs[k] = p
		k++
	}
	n.pairs = n.pairs[:ps+k]

	lists := n.lists[ls:]
	clear(seen)
	k = 0
	for _, l := range lists {
		name := shortenFragments(ts.path+PathSeparator+l.nd.path, n.maxLen)
		if j, ok := seen[name]; ok {
			lists[j].items = l.items
			continue
		}
		seen[name] = k
		lists[k] = l
		k++
	}
	n.lists = n.lists[:ls+k]
}

// put writes one value into row, coercing it into its column's type or
// into a variant column as dlt's coerce_row does.
func (n *Normalizer) put(ts *tstate, row *[]any, nd *node, v any) error {
	if v == nil {
		return nil // NULL: no column is made for it
	}
	code, val, err := classify(v)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", ts.t.Name, nd.name, err)
	}
	col := n.column(ts, nd)
	if col < 0 {
		if !n.slow {
			return errSlow
		}
		col = n.addColumn(ts, &Column{Name: nd.name, DataType: typeNames[detectType(code, val)], Nullable: true})
		nd.col = col
	}
	ct := ts.typeOf(col)
	if ct == code && code <= vBool { // same type, nothing to convert
		setCol(ts, row, col, val)
		return nil
	}
	if out, ok := coerce(ct, code, val); ok {
		setCol(ts, row, col, out)
		return nil
	}
	vcol, err := n.variant(ts, nd, code, val)
	if err != nil {
		return err
	}
	out, ok := coerce(ts.typeOf(vcol), code, val)
	if !ok {
		// dlt raises CannotCoerceColumnException here too.
		return fmt.Errorf("%s.%s: cannot coerce a %s value into its variant column %s of type %s",
			ts.t.Name, nd.name, typeNames[code], ts.t.Columns[vcol].Name, typeNames[ts.typeOf(vcol)])
	}
	setCol(ts, row, vcol, out)
	return nil
}

func setCol(ts *tstate, row *[]any, col int, v any) {
	if col >= len(*row) {
		*row = grow(*row, len(ts.t.Columns))
	}
	(*row)[col] = v
}

func grow(row []any, n int) []any {
	out := make([]any, n)
	copy(out, row)
	return out
}

// column resolves nd's column position, -1 if the column does not exist.
func (n *Normalizer) column(ts *tstate, nd *node) int {
	if nd.col < 0 {
		if i, ok := ts.t.columnIndex(nd.name); ok {
			nd.col = i
		}
	}
	return nd.col
}

// isJSONColumn is dlt's is_nested_type for a column that exists: a json
// column keeps nested values whole.
func (n *Normalizer) isJSONColumn(ts *tstate, nd *node) bool {
	col := n.column(ts, nd)
	return col >= 0 && ts.typeOf(col) == vJSON
}

// variant resolves (or, on the slow pass, creates) the variant column
// <col>__v_<type> for values of type code that nd's column cannot take.
func (n *Normalizer) variant(ts *tstate, nd *node, code vtype, val any) (int, error) {
	if i := nd.vcols[code]; i > 0 {
		return i - 1, nil
	}
	name := shortenFragments(nd.name+PathSeparator+"v_"+string(typeNames[code]), n.maxLen)
	i, ok := ts.t.columnIndex(name)
	if !ok {
		if !n.slow {
			return -1, errSlow
		}
		i = n.addColumn(ts, &Column{Name: name, DataType: typeNames[detectType(code, val)], Nullable: true, VariantOf: nd.name})
	}
	nd.vcols[code] = i + 1
	return i, nil
}

// ensureSystem resolves (or creates) the system columns of ts.
func (n *Normalizer) ensureSystem(ts *tstate, isRoot bool) error {
	need := childSys
	if isRoot {
		need = rootSys
	}
	for _, s := range need {
		if ts.sys[s] >= 0 {
			continue
		}
		if i, ok := ts.t.columnIndex(sysNames[s]); ok {
			ts.sys[s] = i
			continue
		}
		if !n.slow {
			return errSlow
		}
		c := systemColumn(sysNames[s])
		ts.sys[s] = n.addColumn(ts, c)
	}
	return nil
}

// childState resolves (or, on the slow pass, creates) the child table
// that lists under nd go to.
func (n *Normalizer) childState(ts *tstate, nd *node) (*tstate, error) {
	if nd.child != nil {
		return nd.child, nil
	}
	path := ts.path + PathSeparator + nd.path
	name := shortenFragments(path, n.maxLen)
	if alias(ts, "\x00"+name, nd) && !n.slow {
		return nil, errSlow
	}
	t := n.schema.table(name)
	if t == nil {
		if !n.slow {
			return nil, errSlow
		}
		t = &Table{Name: name, Parent: ts.t.Name, Resource: ts.t.Resource, WriteDisposition: ts.t.WriteDisposition}
		n.schema.addTable(t)
		n.changed = true
	}
	nd.child = n.state(t, path)
	return nd.child, nil
}

func (n *Normalizer) addColumn(ts *tstate, c *Column) int {
	i := n.schema.addColumn(ts.t, c)
	ts.sync()
	n.newCols = append(n.newCols, ts.t.Name+"."+c.Name)
	n.changed = true
	return i
}

// typeOf is the type code of column i.
func (ts *tstate) typeOf(i int) vtype {
	if i >= len(ts.types) { // columns added since (by another normalizer)
		ts.sync()
	}
	return ts.types[i]
}

// sync extends the column type codes to the table's current columns.
func (ts *tstate) sync() {
	for len(ts.types) < len(ts.t.Columns) {
		code, ok := typeCode(ts.t.Columns[len(ts.types)].DataType)
		if !ok {
			code = vText // a type this package does not make: treat values as text
		}
		ts.types = append(ts.types, code)
	}
}

// alloc returns a zeroed row of k values from the record's arena.
func (n *Normalizer) alloc(k int) []any {
	if n.used+k > len(n.arena) {
		// Rows already handed out keep the old arena alive until the
		// record is written.
		n.arena = make([]any, max(2*len(n.arena), k, 1024))
		n.used = 0
	}
	row := n.arena[n.used : n.used+k : n.used+k]
	n.used += k
	return row
}

func (n *Normalizer) emit(sink Sink) error {
	for _, r := range n.rows {
		row := r.vals
		if cols := len(r.ts.t.Columns); len(row) < cols {
			// The record added columns after this row was made.
			n.pad = append(n.pad[:0], row...)
			for len(n.pad) < cols {
				n.pad = append(n.pad, nil)
			}
			row = n.pad
		}
		if err := sink.Write(r.ts.t, row); err != nil {
			return fmt.Errorf("normalize: write %s: %w", r.ts.t.Name, err)
		}
	}
	return nil
}

func (n *Normalizer) reset() {
	clear(n.arena[:n.used])
	n.used = 0
	clear(n.rows)
	n.rows = n.rows[:0]
	n.stack = n.stack[:0]
	n.pairs = n.pairs[:0]
	n.lists = n.lists[:0]
}

// childID is dlt's deterministic id of a child row: base64 of 10 bytes of
// SHAKE128 over "<parent id>_<child table>_<list index>".
func (n *Normalizer) childID(parentID, table string, idx int) string {
	b := append(n.hbuf[:0], parentID...)
	b = append(b, '_')
	b = append(b, table...)
	b = append(b, '_')
	b = strconv.AppendInt(b, int64(idx), 10)
	n.hbuf = b
	n.shake.Reset()
	n.shake.Write(b)
	var d [10]byte
	n.shake.Read(d[:])
	var out [14]byte
	base64.RawStdEncoding.Encode(out[:], d[:])
	return string(out[:])
}

// idSource makes dlt's random root row ids (uniq_id_base64(10)): 10
// random bytes, base64 without padding, 14 characters. Randomness is read
// in batches.
type idSource struct {
	buf [640]byte
	pos int
}

func (g *idSource) next() string {
	if g.pos == 0 || g.pos+10 > len(g.buf) {
		rand.Read(g.buf[:])
		g.pos = 0
	}
	var out [14]byte
	base64.RawStdEncoding.Encode(out[:], g.buf[g.pos:g.pos+10])
	g.pos += 10
	return string(out[:])
}
