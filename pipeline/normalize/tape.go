package normalize

import (
	"errors"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// Records read from a page's tape (jsonpage.Decoder.DecodeTape) are
// normalized without a map per object: the fast pass walks the tape in
// document order. What needs a defined key order (the evolving pass) or
// dict semantics (a name repeated in one object) takes the map path with
// the record built from the tape, so the rows are those Normalize makes.

// errRepeatedName sends a record whose object repeats a name to the map
// path, where the last one wins as in encoding/json.
var errRepeatedName = errors.New("normalize: repeated name")

// NormalizeTape is Normalize for the record at node at of tape. A record
// that is not an object is the object {"value": record}, as dlt makes it.
func (n *Normalizer) NormalizeTape(root string, tape *jsonpage.Tape, at int, sink Sink) error {
	if tape.Nodes[at].Kind != jsonpage.Object {
		return n.Normalize(root, map[string]any{ColValue: tape.Value(at)}, sink)
	}
	rootID, err := n.fastTape(root, tape, at, sink)
	if errors.Is(err, errSlow) || errors.Is(err, errRepeatedName) {
		rec, _ := tape.Value(at).(map[string]any)
		return n.normalizeMap(root, rec, sink, rootID)
	}
	return err
}

// fastTape is the pass of NormalizeTape against the schema as it is.
// It returns the record's root id, for the map path to keep.
func (n *Normalizer) fastTape(root string, tape *jsonpage.Tape, at int, sink Sink) (rootID any, err error) {
	s := n.schema
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, err := n.rootState(root)
	if err != nil {
		return nil, err
	}
	n.rootID = n.ids.next()
	rootID = n.rootID
	n.changed, n.slow = false, false
	n.tape = tape
	defer func() {
		n.tape = nil
		n.reset()
	}()
	if err := n.objectRowTape(ts, at, n.maxNesting, nil, 0, nil); err != nil {
		if errors.Is(err, errSlow) || errors.Is(err, errRepeatedName) {
			return rootID, err
		}
		return rootID, fmt.Errorf("normalize: %w", err)
	}
	return rootID, n.emit(sink)
}

// objectRowTape is objectRow for the object node at.
func (n *Normalizer) objectRowTape(ts *tstate, at, lvl int, parentID any, idx int, rootID any) error {
	ps, ls := len(n.pairs), len(n.lists)
	if err := n.flattenTape(ts, at, lvl); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, lvl, parentID, idx, rootID)
}

// listRowTape is listRow for the array node at.
func (n *Normalizer) listRowTape(ts *tstate, at, lvl int, parentID any, idx int, rootID any) error {
	ps, ls := len(n.pairs), len(n.lists)
	list, err := n.listNode(ts)
	if err != nil {
		return err
	}
	if err := n.visitTape(ts, list, at, lvl); err != nil {
		return err
	}
	return n.finishRow(ts, ps, ls, lvl, parentID, idx, rootID)
}

// tapeFrame is an object still to flatten: the node at on the tape.
type tapeFrame struct {
	at, lvl int
	parent  *node
}

// flattenTape is flatten for the object node at: the same pairs and lists,
// the members in document order.
func (n *Normalizer) flattenTape(ts *tstate, at, lvl int) error {
	nodes := n.tape.Nodes
	stack := append(n.tstack[:0], tapeFrame{at, lvl, &ts.root})
	defer func() { n.tstack = stack[:0] }()
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n.objects++
		for j := f.at + 1; j < int(nodes[f.at].End); j = int(nodes[j].End) {
			nd, err := n.kid(ts, f.parent, nodes[j].Key)
			if err != nil {
				return err
			}
			if nd.seen == n.objects {
				return errRepeatedName
			}
			nd.seen = n.objects
			if nd.aliased {
				return errSlow
			}
			switch nodes[j].Kind {
			case jsonpage.Object:
				if f.lvl > 0 && !n.isJSONColumn(ts, nd) {
					stack = append(stack, tapeFrame{j, f.lvl - 1, nd})
					continue
				}
			case jsonpage.Array:
				if f.lvl > 0 && !n.isJSONColumn(ts, nd) {
					n.lists = append(n.lists, listRef{nd: nd, at: j, fromTape: true})
					continue
				}
			}
			if !nd.sys {
				n.pairs = append(n.pairs, pair{nd: nd, at: j, fromTape: true})
			}
		}
	}
	return nil
}

// visitTape is visit for the array node at (a list inside a list).
func (n *Normalizer) visitTape(ts *tstate, nd *node, at, lvl int) error {
	if nd.aliased {
		return errSlow
	}
	if lvl > 0 && !n.isJSONColumn(ts, nd) {
		n.lists = append(n.lists, listRef{nd: nd, at: at, fromTape: true})
		return nil
	}
	if !nd.sys {
		n.pairs = append(n.pairs, pair{nd: nd, at: at, fromTape: true})
	}
	return nil
}

// childRowsTape writes the elements of the array l.at as rows of nd's
// child table, as finishRow does for a list of values.
func (n *Normalizer) childRowsTape(ts *tstate, l listRef, lvl int, id, rootID any) error {
	nodes := n.tape.Nodes
	if nodes[l.at].End == int32(l.at+1) { // empty
		return nil
	}
	child, err := n.childState(ts, l.nd)
	if err != nil {
		return err
	}
	idx := 0
	for j := l.at + 1; j < int(nodes[l.at].End); j = int(nodes[j].End) {
		switch nodes[j].Kind {
		case jsonpage.Object:
			err = n.objectRowTape(child, j, lvl-1, id, idx, rootID)
		case jsonpage.Array:
			err = n.listRowTape(child, j, lvl-2, id, idx, rootID)
		default:
			err = n.scalarRow(child, n.tape.Scalar(j), id, idx, rootID)
		}
		if err != nil {
			return err
		}
		idx++
	}
	return nil
}
