package normalize

import (
	"crypto/sha3"
	"errors"
	"fmt"
	"slices"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
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
	rootID  any            // this record's random root id, boxed once
	tape    *jsonpage.Tape // the record's tape, while NormalizeTape runs
	objects uint64         // objects read from tapes: marks repeated names
	arena   []any
	used    int
	rows    []pendingRow
	stack   []frame
	tstack  []tapeFrame
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
	seen    uint64  // the last tape object that had this key (Normalizer.objects)
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

// pair is a value for nd's column: v, or the node at on the tape.
type pair struct {
	nd       *node
	v        any
	at       int
	fromTape bool
}

// listRef is a list for nd's child table: items, or the array node at on
// the tape.
type listRef struct {
	nd       *node
	items    []any
	at       int
	fromTape bool
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
	return n.normalizeMap(root, rec, sink, nil)
}

// normalizeMap is Normalize with the record's root id given (nil: a new one).
func (n *Normalizer) normalizeMap(root string, rec map[string]any, sink Sink, rootID any) error {
	s := n.schema
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := n.rootState(root)
	if err != nil {
		return err
	}
	if rootID == nil {
		rootID = n.ids.next()
	}
	n.rootID = rootID
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
	list, err := n.listNode(ts)
	if err != nil {
		return err
	}
	if err := n.visit(ts, list, items, lvl); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, lvl, parentID, idx, rootID)
}

// listNode is the schema node of the "list" rows lists inside lists make.
func (n *Normalizer) listNode(ts *tstate) (*node, error) {
	if ts.list == nil {
		nd, err := n.kid(ts, &ts.root, "list")
		if err != nil {
			return nil, err
		}
		ts.list = nd
	}
	return ts.list, nil
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
			n.lists = append(n.lists, listRef{nd: nd, items: x})
			return nil
		}
	}
	if !nd.sys {
		n.pairs = append(n.pairs, pair{nd: nd, v: v})
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
