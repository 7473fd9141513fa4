package jsonpage

import (
	"encoding/json"
	"slices"
)

// The records a page's selectors name: where they lie in the body, their
// nodes on a tape, and what the secret paths cut out of each.

// target collects the records of the array at one selector path: the last
// such array in the body, as the decoded tree holds the last repeated key.
type target struct {
	path     []string
	raws     []json.RawMessage // as received
	stripped []json.RawMessage // minus the secret paths, made by Records when first asked
	nodes    []int             // on a tape: each record's node, minus the secret paths
	drops    []drops           // each record's cuts in spans
	spans    []cut             // what the secret paths drop, from the start of each record
}

// drops are what the secret paths cut out of one record: spans[from:to].
// A record with whitespace in it is stripped by Strip instead.
type drops struct {
	from, to int
	spaced   bool
}

func (t *target) reset() {
	t.raws, t.stripped, t.nodes, t.drops, t.spans = nil, nil, nil, nil, nil
}

// RecordNodes returns the tape indices of the records the last DecodeTape
// found at selector sel, in the order of Records; ok is false if sel was not
// given to New.
func (d *Decoder) RecordNodes(sel string) (nodes []int, ok bool) {
	if t := d.targetAt(sel); t != nil {
		return t.nodes, true
	}
	return nil, false
}

// Records returns the elements of the array the last Decode found at
// selector sel ("$" or a path), as received (raws, slices of the body) and
// minus the secret paths (stripped, slices of the body where nothing was
// cut). ok is false if sel was not given to New.
func (d *Decoder) Records(sel string) (raws, stripped []json.RawMessage, ok bool) {
	t := d.targetAt(sel)
	if t == nil {
		return nil, nil, false
	}
	if t.stripped == nil && len(t.raws) > 0 {
		t.stripped = t.strip(d.secretPaths)
	}
	return t.raws, t.stripped, true
}

// Received is Records without the stripped records, which it does not
// make: for a reader of the tape, whose records already lack the secrets.
func (d *Decoder) Received(sel string) (raws []json.RawMessage, ok bool) {
	t := d.targetAt(sel)
	if t == nil {
		return nil, false
	}
	return t.raws, true
}

// targetAt is the target of selector sel, nil if sel was not given to New.
func (d *Decoder) targetAt(sel string) *target {
	path := []string{}
	if sel != "$" {
		path = splitPath(sel)
	}
	for _, t := range d.targets {
		if slices.Equal(t.path, path) {
			return t
		}
	}
	return nil
}

// target returns the target whose path is the current path, if any.
func (d *Decoder) target() *target {
	for _, t := range d.targets {
		if slices.Equal(t.path, d.path) {
			return t
		}
	}
	return nil
}

// add keeps the record that ends at d.i, as received, with what its secret
// paths cut out of it.
func (t *target) add(d *Decoder, start, node int) {
	t.raws = append(t.raws, json.RawMessage(d.b[start:d.i]))
	if d.tape != nil {
		t.nodes = append(t.nodes, node)
	}
	dr := drops{from: len(t.spans), spaced: d.spaced && len(d.secrets) > 0}
	if len(d.secrets) > 0 && !d.spaced {
		for _, c := range d.cuts {
			t.spans = append(t.spans, cut{start: c.start - start, end: c.end - start, null: c.null})
		}
	}
	dr.to = len(t.spans)
	t.drops = append(t.drops, dr)
}

// strip returns the records minus the secret paths: the records themselves
// where nothing is cut.
func (t *target) strip(secretPaths []string) []json.RawMessage {
	stripped := make([]json.RawMessage, len(t.raws))
	for i, raw := range t.raws {
		dr := t.drops[i]
		switch {
		case dr.spaced: // Strip drops the whitespace inside what a path goes into; cuts would keep it
			stripped[i] = Strip(raw, secretPaths)
		case dr.from == dr.to:
			stripped[i] = raw
		default:
			out := make([]byte, 0, len(raw))
			pos := 0
			for _, c := range t.spans[dr.from:dr.to] {
				out = append(out, raw[pos:c.start]...)
				if c.null {
					out = append(out, "null"...)
				}
				pos = c.end
			}
			stripped[i] = append(out, raw[pos:]...)
		}
	}
	return stripped
}
