package jsonpage

import (
	"encoding/json"
	"sync"
)

// A Tape is a page decoded without a map per record: every value is a Node
// in one flat slice, a container followed by its members or elements and
// ending where its End says. Records cost one append per value instead of a
// map per object; Value builds the map form on demand for the rare reader
// that needs it.
type Tape struct {
	Nodes []Node
}

// Kind is what a Node holds.
type Kind uint8

// The kinds of a Node.
const (
	Null Kind = iota
	False
	True
	Number
	String
	Object
	Array
)

// Node is one value on a Tape. Scalars are not boxed in an any here: a
// reader boxes only the values it keeps (Scalar).
type Node struct {
	Key  string // its name, when it is a member of an object
	Str  string // a String's text, unescaped, or a Number's literal
	End  int32  // the index after its subtree: its next sibling
	Kind Kind
}

// Scalar returns the scalar at i as encoding/json with UseNumber builds it:
// nil, bool, json.Number or string; nil for a container.
func (t *Tape) Scalar(i int) any {
	nd := &t.Nodes[i]
	switch nd.Kind {
	case String:
		return nd.Str
	case Number:
		return json.Number(nd.Str)
	case True:
		return true
	case False:
		return false
	}
	return nil
}

// Children calls fn with the index of each member or element of the
// container at i, in document order; repeated names are all given.
func (t *Tape) Children(i int, fn func(j int) bool) {
	for j := i + 1; j < int(t.Nodes[i].End); j = int(t.Nodes[j].End) {
		if !fn(j) {
			return
		}
	}
}

// Value returns the value at i as encoding/json (UseNumber) decodes it:
// objects map[string]any (the last of repeated names wins), arrays []any.
func (t *Tape) Value(i int) any {
	nd := &t.Nodes[i]
	switch nd.Kind {
	case Object:
		m := map[string]any{}
		for j := i + 1; j < int(nd.End); j = int(t.Nodes[j].End) {
			m[t.Nodes[j].Key] = t.Value(j)
		}
		return m
	case Array:
		out := []any{}
		for j := i + 1; j < int(nd.End); j = int(t.Nodes[j].End) {
			out = append(out, t.Value(j))
		}
		return out
	}
	return t.Scalar(i)
}

// Member returns the index of the member named key of the object at i, the
// last one when the name repeats (as Value keeps it); ok is false when the
// object has no such member or i is not an object.
func (t *Tape) Member(i int, key string) (j int, ok bool) {
	if t.Nodes[i].Kind != Object {
		return 0, false
	}
	for k := i + 1; k < int(t.Nodes[i].End); k = int(t.Nodes[k].End) {
		if t.Nodes[k].Key == key {
			j, ok = k, true
		}
	}
	return j, ok
}

// A TapePool hands out tapes for pages and takes them back once a page's
// reader is done, so a load reuses a few tapes instead of growing one per
// page. Safe for concurrent use.
type TapePool struct{ p sync.Pool }

// Get returns a tape to decode into (DecodeTapeInto).
func (p *TapePool) Get() *Tape {
	if t, ok := p.p.Get().(*Tape); ok {
		return t
	}
	return &Tape{}
}

// Put gives back a tape nothing reads any more.
func (p *TapePool) Put(t *Tape) {
	if t != nil {
		p.p.Put(t)
	}
}
