// Package jsonpage decodes the body of one API page in a single strict pass:
// the values, as encoding/json would build them; the records the selectors
// name, as received and minus the secret paths. Loads spend most of their
// CPU here, so the decoder is hand-written (BenchmarkPagesBuilds in
// pipeline/codefresh measures it). Paths the decoder leaves to others
// (records with whitespace, key order, shape errors) are in walk.go.
//
// A path is a dot-separated list of object keys; "*" is every key or
// element, and a named key applied to a list applies to each element (the
// syntax of the catalog's SecretFields). A selector is such a path to the
// array that holds a page's records, "$" for a bare array, or "" for a body
// that is one record.
package jsonpage

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Decoder reads a page body in one strict pass: it checks the whole body
// as json.Valid does, builds every value as encoding/json with UseNumber does
// (objects map[string]any, arrays []any, numbers json.Number; invalid UTF-8
// and lone surrogates become U+FFFD; the last of repeated keys wins), and
// notes where the elements of the arrays the selectors name lie in the body
// and what the secret paths cut out of each. On malformed input it reports
// an error, never panics. A Decoder is not safe for concurrent use.
type Decoder struct {
	b     []byte
	i     int
	depth int
	keys  map[string]string // object keys, interned: every record repeats them
	hints [hintDepth]int    // size of the last object seen at each depth
	// the key and the short string value last read at each depth and
	// member position (key, member)
	keyHints   [keyHintDepth][keyHintSlots]string
	valueHints [keyHintDepth][keyHintSlots]string
	buf        []byte            // unescaping scratch
	long       map[string]string // long strings decoded so far, by their raw text

	path    []string  // object keys from the top, while only objects were crossed
	targets []*target // arrays at selector paths: their elements are records

	secretPaths []string
	secrets     [][]string // secretPaths split

	// the record being read
	spaced bool  // whitespace between its tokens
	cuts   []cut // what its secret paths drop, in body order

	tape     *Tape  // set while DecodeTape runs: values go there, not into maps
	nodeKey  string // the key of the next node made on the tape: an object member's
	tapeHint int    // nodes of the last tape, to size the next
}

const (
	maxDepth  = 10000 // as encoding/json
	hintDepth = 16
	maxKeys   = 4096

	keyHintDepth = 8
	keyHintSlots = 64
)

// cut is a span of the body a secret path removes; null ones become null.
type cut struct {
	start, end int
	null       bool
}

// syntaxError is a body that is not JSON.
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s (offset %d)", e.msg, e.off) }

// New returns a decoder that cuts secretPaths out of the records it finds
// at selectors.
func New(secretPaths, selectors []string) *Decoder {
	d := &Decoder{keys: map[string]string{}, secretPaths: secretPaths}
	for _, p := range secretPaths {
		d.secrets = append(d.secrets, splitPath(p))
	}
	for _, sel := range selectors {
		switch sel {
		case "":
		case "$":
			d.targets = append(d.targets, &target{path: []string{}})
		default:
			d.targets = append(d.targets, &target{path: splitPath(sel)})
		}
	}
	return d
}

func splitPath(p string) []string { return strings.Split(p, ".") }

// Decode parses body and returns its value; Records then has the records
// each selector found in it.
func (d *Decoder) Decode(body []byte) (any, error) {
	d.b, d.i, d.depth, d.path, d.nodeKey = body, 0, 0, d.path[:0], ""
	for _, t := range d.targets {
		t.reset()
	}
	v, err := d.value(nil, true)
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, d.errf("invalid character %q after top-level value", d.b[d.i])
	}
	return v, nil
}

// DecodeTape is Decode that puts the values on a Tape instead of building
// maps and slices; the records on it lack what the secret paths name, as
// Records' stripped ones do. RecordNodes then has the records' indices.
func (d *Decoder) DecodeTape(body []byte) (*Tape, error) {
	return d.DecodeTapeInto(&Tape{Nodes: make([]Node, 0, max(d.tapeHint, len(body)/16))}, body)
}

// DecodeTapeInto is DecodeTape reusing tape, whose nodes a reader of an
// earlier page has done with.
func (d *Decoder) DecodeTapeInto(tape *Tape, body []byte) (*Tape, error) {
	if cap(tape.Nodes) == 0 {
		tape.Nodes = make([]Node, 0, max(d.tapeHint, len(body)/16))
	}
	// The new page's nodes overwrite the last one's; those past its end
	// are cleared after, to drop the strings they hold.
	was := len(tape.Nodes)
	tape.Nodes = tape.Nodes[:0]
	d.tape = tape
	defer func() { d.tape = nil }()
	if _, err := d.Decode(body); err != nil {
		clear(tape.Nodes[:was])
		return nil, err
	}
	if n := len(tape.Nodes); n < was {
		clear(tape.Nodes[n:was])
	}
	d.tapeHint = len(tape.Nodes)
	return tape, nil
}

// leaf puts a scalar on the tape, in tape mode.
func (d *Decoder) leaf(kind Kind, s string) {
	if d.tape != nil {
		d.tape.Nodes = append(d.tape.Nodes, Node{Key: d.nodeKey, Str: s, Kind: kind, End: int32(len(d.tape.Nodes) + 1)})
		d.nodeKey = ""
	}
}

func (d *Decoder) errf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...), off: d.i}
}

func (d *Decoder) eof() error {
	return &syntaxError{msg: "unexpected end of JSON input", off: d.i}
}

func (d *Decoder) ws() {
	i := d.i
	for i < len(d.b) && (d.b[i] == ' ' || d.b[i] == '\n' || d.b[i] == '\r' || d.b[i] == '\t') {
		i++
	}
	if i != d.i {
		d.spaced = true
		d.i = i
	}
}

// value reads one value. active are the secret paths still to apply at this
// position inside a record (nil elsewhere); onPath says only objects were
// crossed from the top.
func (d *Decoder) value(active [][]string, onPath bool) (any, error) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, d.eof()
	}
	switch c := d.b[d.i]; c {
	case '{':
		return d.object(active, onPath)
	case '[':
		return d.array(active, onPath)
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.stringValue(s), nil
	case 't':
		d.leaf(True, "")
		return true, d.literal("true")
	case 'f':
		d.leaf(False, "")
		return false, d.literal("false")
	case 'n':
		d.leaf(Null, "")
		return nil, d.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return d.number()
		}
		return nil, d.errf("invalid character %q looking for beginning of value", c)
	}
}

func (d *Decoder) literal(lit string) error {
	if len(d.b)-d.i < len(lit) {
		if string(d.b[d.i:]) == lit[:len(d.b)-d.i] {
			return d.eof()
		}
		return d.errf("invalid literal")
	}
	if string(d.b[d.i:d.i+len(lit)]) != lit {
		return d.errf("invalid literal")
	}
	d.i += len(lit)
	return nil
}

func (d *Decoder) number() (any, error) {
	b, i := d.b, d.i
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		d.i = i
		return nil, d.eof()
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return nil, d.errf("invalid character %q in numeric literal", b[i])
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid numeric literal: no digit after decimal point")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid numeric literal: no digit in exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	if d.tape != nil {
		d.leaf(Number, string(b[start:i]))
		return nil, nil // not boxed
	}
	return json.Number(b[start:i]), nil
}

func (d *Decoder) object(active [][]string, onPath bool) (any, error) {
	d.i++ // '{'
	if d.depth++; d.depth > maxDepth {
		return nil, d.errf("exceeded max depth")
	}
	var m map[string]any
	at := -1 // the object's node, in tape mode
	if d.tape != nil {
		at = len(d.tape.Nodes)
		d.tape.Nodes = append(d.tape.Nodes, Node{Key: d.nodeKey, Kind: Object})
		d.nodeKey = ""
	} else {
		hint := 0
		if d.depth < hintDepth {
			hint = d.hints[d.depth]
		}
		m = make(map[string]any, hint)
	}
	// Members the secret paths drop are cut with the comma that joins them
	// to a kept member, so what is left is still JSON.
	lastKept, dropFrom, dropEnd := -1, -1, -1
	member := 0 // the member being read: its position in the object
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		d.depth--
		d.close(at)
		return m, nil
	}
	for {
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eof()
		}
		if d.b[d.i] != '"' {
			return nil, d.errf("invalid character %q looking for beginning of object key string", d.b[d.i])
		}
		start := d.i
		k, err := d.key(member)
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eof()
		}
		if d.b[d.i] != ':' {
			return nil, d.errf("invalid character %q after object key", d.b[d.i])
		}
		d.i++
		var next [][]string
		drop := false
		for _, p := range active {
			if p[0] != "*" && p[0] != k {
				continue
			}
			if len(p) == 1 {
				drop = true
				break
			}
			next = append(next, p[1:])
		}
		if drop {
			next = nil
			if dropFrom < 0 {
				dropFrom = start
			}
		} else if dropFrom >= 0 {
			d.cuts = append(d.cuts, cut{start: dropFrom, end: start})
			dropFrom = -1
		}
		if onPath {
			d.path = append(d.path, k)
		}
		node := 0 // the member's node, in tape mode
		if d.tape != nil {
			node = len(d.tape.Nodes)
			d.nodeKey = k // its node is the next one made
		}
		v, err := d.member(member, next, onPath)
		if err != nil {
			return nil, err
		}
		if onPath {
			d.path = d.path[:len(d.path)-1]
		}
		switch {
		case at < 0:
			m[k] = v
		case drop:
			d.tape.Nodes = d.tape.Nodes[:node]
		}
		if drop {
			dropEnd = d.i
		} else {
			lastKept = d.i
		}
		more, err := d.separator('}', "object key:value pair")
		if err != nil {
			return nil, err
		}
		member++
		if !more {
			break
		}
	}
	if dropFrom >= 0 { // a run of dropped members ends the object
		from := dropFrom
		if lastKept >= 0 {
			from = lastKept
		}
		d.cuts = append(d.cuts, cut{start: from, end: dropEnd})
	}
	if d.depth < hintDepth && m != nil {
		d.hints[d.depth] = len(m)
	}
	d.depth--
	d.close(at)
	return m, nil
}

// member reads the value of member n of an object: value, but a short
// string is first tried against the last one at this depth and position.
func (d *Decoder) member(n int, active [][]string, onPath bool) (any, error) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' || d.depth >= len(d.valueHints) || n >= len(d.valueHints[0]) {
		return d.value(active, onPath)
	}
	s, err := d.hintedStr(&d.valueHints[d.depth][n])
	if err != nil {
		return nil, err
	}
	return d.stringValue(s), nil
}

// stringValue is a string value read: a leaf on the tape in tape mode (not
// boxed, nil), else the string.
func (d *Decoder) stringValue(s string) any {
	if d.tape != nil {
		d.leaf(String, s)
		return nil
	}
	return s
}

// separator steps over what follows an object member or array element: a comma
// (more is true) or the closing bracket (more is false).
func (d *Decoder) separator(closing byte, after string) (more bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, d.eof()
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, nil
	case closing:
		d.i++
		return false, nil
	}
	return false, d.errf("invalid character %q after %s", d.b[d.i], after)
}

func (d *Decoder) array(active [][]string, onPath bool) (any, error) {
	d.i++ // '['
	if d.depth++; d.depth > maxDepth {
		return nil, d.errf("exceeded max depth")
	}
	var t *target
	if onPath {
		if t = d.target(); t != nil {
			t.reset()
		}
	}
	next, nullAll := elementPaths(active)
	var out []any
	at := -1 // the array's node, in tape mode
	if d.tape != nil {
		at = len(d.tape.Nodes)
		d.tape.Nodes = append(d.tape.Nodes, Node{Key: d.nodeKey, Kind: Array})
		d.nodeKey = ""
	} else {
		out = []any{}
	}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		d.depth--
		d.close(at)
		return out, nil
	}
	for {
		d.ws()
		start := d.i
		elem := 0
		if d.tape != nil {
			elem = len(d.tape.Nodes)
		}
		var v any
		var err error
		switch {
		case t != nil:
			d.spaced, d.cuts = false, d.cuts[:0]
			if v, err = d.value(d.secrets, false); err == nil {
				t.add(d, start, elem)
			}
		case nullAll:
			if v, err = d.value(nil, false); err == nil {
				d.cuts = append(d.cuts, cut{start: start, end: d.i, null: true})
				if d.tape != nil { // the slot stays, as null
					d.tape.Nodes = append(d.tape.Nodes[:elem], Node{Kind: Null, End: int32(elem + 1)})
				}
			}
		default:
			v, err = d.value(next, false)
		}
		if err != nil {
			return nil, err
		}
		if d.tape == nil {
			out = append(out, v)
		}
		more, err := d.separator(']', "array element")
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	d.depth--
	d.close(at)
	return out, nil
}

// close ends the container whose node is at (tape mode; -1 otherwise).
func (d *Decoder) close(at int) {
	if at >= 0 {
		d.tape.Nodes[at].End = int32(len(d.tape.Nodes))
	}
}
