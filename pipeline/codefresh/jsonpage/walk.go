package jsonpage

import (
	"bytes"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// The walks here serve what the Decoder does not do in its pass: records
// with whitespace in them, the key order of keyed objects, the keys a shape
// error names. They run on a record or a body at a time, so they read it with
// jsontext rather than a scanner of their own. Their input is JSON that
// encoding/json accepted; on anything else they stop, never panic.

// walkOptions accept all encoding/json does: repeated names (the last wins
// where it matters) and invalid UTF-8 (read as U+FFFD).
var walkOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// walker reads one JSON text.
type walker struct {
	dec  *jsontext.Decoder
	name []byte // unquoting scratch
}

func newWalker(b []byte) *walker {
	return &walker{dec: jsontext.NewDecoder(bytes.NewBuffer(b), walkOptions...)}
}

// readName reads an object name; raw is as received, name unquoted as
// encoding/json does (invalid UTF-8 and lone surrogates become U+FFFD); both
// are valid until the next read.
func (w *walker) readName() (raw, name []byte, err error) {
	raw, err = w.dec.ReadValue()
	if err != nil {
		return nil, nil, err
	}
	w.name, _ = jsontext.AppendUnquote(w.name[:0], raw) // the error is the U+FFFD it wrote
	return raw, w.name, nil
}

// Strip returns raw without the values the paths name, everything else byte
// for byte and in order; objects and arrays a path goes into lose the
// whitespace between their tokens. A dropped member goes with its comma; a
// "*" last on a list keeps the slot as null.
func Strip(raw []byte, paths []string) []byte {
	if len(paths) == 0 {
		return raw
	}
	out, _, _ := stripValue(raw, paths)
	return out
}

// StripText is Strip for a whole JSON text, a response body: ok is false
// unless raw is one JSON value and nothing after it.
func StripText(raw []byte, paths []string) (out []byte, ok bool) {
	out, w, err := stripValue(raw, paths)
	if err != nil {
		return nil, false
	}
	if _, err := w.dec.ReadToken(); err != io.EOF {
		return nil, false // more after the value
	}
	return out, true
}

// stripValue strips the first value of raw and returns the walker, which
// stands after it.
func stripValue(raw []byte, paths []string) ([]byte, *walker, error) {
	active := make([][]string, len(paths))
	for i, p := range paths {
		active[i] = splitPath(p)
	}
	raw = bytes.TrimSpace(raw)
	w := newWalker(raw)
	out, err := w.strip(make([]byte, 0, len(raw)), active)
	return out, w, err
}

// strip appends the next value to out minus what active names there.
func (w *walker) strip(out []byte, active [][]string) ([]byte, error) {
	dec := w.dec
	kind := dec.PeekKind()
	if len(active) == 0 || (kind != '{' && kind != '[') {
		v, err := dec.ReadValue()
		return append(out, v...), err
	}
	if _, err := dec.ReadToken(); err != nil {
		return out, err
	}
	first := true
	if kind == '{' {
		out = append(out, '{')
		for dec.PeekKind() != '}' {
			raw, name, err := w.readName()
			if err != nil {
				return out, err
			}
			next, drop := descend(active, name)
			if drop {
				if err := dec.SkipValue(); err != nil {
					return out, err
				}
				continue
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			out = append(append(out, raw...), ':')
			if out, err = w.strip(out, next); err != nil {
				return out, err
			}
		}
		_, err := dec.ReadToken()
		return append(out, '}'), err
	}
	next, nullAll := elementPaths(active)
	out = append(out, '[')
	for dec.PeekKind() != ']' {
		if !first {
			out = append(out, ',')
		}
		first = false
		var err error
		if nullAll {
			out, err = append(out, "null"...), dec.SkipValue()
		} else {
			out, err = w.strip(out, next)
		}
		if err != nil {
			return out, err
		}
	}
	_, err := dec.ReadToken()
	return append(out, ']'), err
}

// descend returns the paths that go on below key; drop is true when one of
// them ends at it.
func descend(active [][]string, key []byte) (next [][]string, drop bool) {
	for _, p := range active {
		if p[0] != "*" && p[0] != string(key) {
			continue
		}
		if len(p) == 1 {
			return nil, true
		}
		next = append(next, p[1:])
	}
	return next, false
}

// Keys returns the names of the object at path in raw, in document order
// (repeats included); ok is false if raw holds no object there. Where a
// name repeats on the path, the last one counts, as in the decoded value.
func Keys(raw []byte, path ...string) (keys []string, ok bool) {
	keys, ok, err := newWalker(raw).keys(path)
	if err != nil {
		return nil, false
	}
	return keys, ok
}

// keys reads the next value and returns the names of the object at path in
// it. It reads in one pass: a later repeat of a name on the path replaces
// what an earlier one found.
func (w *walker) keys(path []string) (keys []string, ok bool, err error) {
	dec := w.dec
	if dec.PeekKind() != '{' {
		return nil, false, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, false, err
	}
	for dec.PeekKind() != '}' {
		_, name, err := w.readName()
		if err != nil {
			return nil, false, err
		}
		switch {
		case len(path) == 0:
			keys, ok = append(keys, string(name)), true
			err = dec.SkipValue()
		case string(name) == path[0]:
			keys, ok, err = w.keys(path[1:])
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return nil, false, err
		}
	}
	_, err = dec.ReadToken()
	return keys, ok || len(path) == 0, err
}

// elementPaths are the paths active applies to each element of a list: a
// named key applies as it is, "*" is every element, and "*" last keeps
// the slot but not the value (nullAll).
func elementPaths(active [][]string) (next [][]string, nullAll bool) {
	for _, p := range active {
		switch {
		case p[0] != "*":
			next = append(next, p)
		case len(p) == 1:
			nullAll = true
		default:
			next = append(next, p[1:])
		}
	}
	return next, nullAll
}
