package codefresh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Prepare makes a decoded record ready to store, in place: it drops every
// SecretFields path and turns every KeyedObjects path (an object keyed by
// name) into a list of {"name": key, ...value fields} in the key order of raw,
// the record's JSON as received (Go maps forget order). Without a usable raw
// the keys are sorted. A keyed value that is not an object becomes
// {"name": key, "value": v}; the key wins over a "name" field in the value.
func (r Resource) Prepare(rec map[string]any, raw json.RawMessage) {
	for _, p := range r.SecretFields {
		dropPath(rec, splitPath(p))
	}
	for _, p := range r.KeyedObjects {
		segs := splitPath(p)
		parent := rec
		for _, s := range segs[:len(segs)-1] {
			next, ok := parent[s].(map[string]any)
			if !ok {
				parent = nil
				break
			}
			parent = next
		}
		if parent == nil {
			continue
		}
		last := segs[len(segs)-1]
		obj, ok := parent[last].(map[string]any)
		if !ok {
			continue
		}
		parent[last] = keyedToList(obj, objectKeyOrder(raw, segs))
	}
}

func keyedToList(obj map[string]any, order []string) []any {
	keys := make([]string, 0, len(obj))
	for _, k := range order {
		if _, ok := obj[k]; ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) != len(obj) { // raw missing or disagreeing: sorted, deterministic
		keys = keys[:0]
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		item := map[string]any{}
		if m, ok := obj[k].(map[string]any); ok {
			for f, v := range m {
				item[f] = v
			}
		} else {
			item["value"] = obj[k]
		}
		item["name"] = k
		out = append(out, item)
	}
	return out
}

// objectKeyOrder returns the keys of the object at path in raw, in document
// order, reading only the tokens of that object; nil if raw has no object there.
func objectKeyOrder(raw []byte, path []string) []string {
	cur := json.RawMessage(raw)
	for _, seg := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return nil
		}
		next, ok := m[seg]
		if !ok {
			return nil
		}
		cur = next
	}
	dec := json.NewDecoder(bytes.NewReader(cur))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		k, _ := t.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return keys
}

func splitPath(p string) []string { return strings.Split(p, ".") }

// dropPath deletes what path names inside v. "*" is every key or element;
// a named key applied to a list applies to each element.
func dropPath(v any, path []string) {
	if len(path) == 0 {
		return
	}
	seg, last := path[0], len(path) == 1
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if seg != "*" && k != seg {
				continue
			}
			if last {
				delete(x, k)
			} else {
				dropPath(child, path[1:])
			}
		}
	case []any:
		for i, el := range x {
			switch {
			case seg != "*":
				dropPath(el, path)
			case last:
				x[i] = nil
			default:
				dropPath(el, path[1:])
			}
		}
	}
}

// lookupPath returns every value path names inside v (same syntax as dropPath).
func lookupPath(v any, path []string) []any {
	if len(path) == 0 {
		return []any{v}
	}
	seg := path[0]
	var out []any
	switch x := v.(type) {
	case map[string]any:
		if seg == "*" {
			for _, child := range x {
				out = append(out, lookupPath(child, path[1:])...)
			}
		} else if child, ok := x[seg]; ok {
			out = lookupPath(child, path[1:])
		}
	case []any:
		for _, el := range x {
			if seg == "*" {
				out = append(out, lookupPath(el, path[1:])...)
			} else {
				out = append(out, lookupPath(el, path)...)
			}
		}
	}
	return out
}

// stripRaw returns raw without the values the paths name, keeping everything
// else byte for byte and in order; only the branches that lead to a secret are
// re-encoded token by token.
func stripRaw(raw []byte, paths []string) ([]byte, error) {
	if len(paths) == 0 {
		return raw, nil
	}
	active := make([][]string, len(paths))
	for i, p := range paths {
		active[i] = splitPath(p)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(raw))
	if err := stripValue(dec, &out, active); err != nil {
		return nil, fmt.Errorf("strip secret fields: %w", err)
	}
	return out.Bytes(), nil
}

func stripValue(dec *json.Decoder, out *bytes.Buffer, active [][]string) error {
	if len(active) == 0 {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		out.Write(v)
		return nil
	}
	t, err := dec.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		out.WriteByte('{')
		first := true
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			var next [][]string
			drop := false
			for _, p := range active {
				if p[0] != "*" && p[0] != k {
					continue
				}
				if len(p) == 1 {
					drop = true
				} else {
					next = append(next, p[1:])
				}
			}
			if drop {
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
				continue
			}
			if !first {
				out.WriteByte(',')
			}
			first = false
			writeString(out, k)
			out.WriteByte(':')
			if err := stripValue(dec, out, next); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return err
		}
		out.WriteByte('}')
	case json.Delim('['):
		out.WriteByte('[')
		var next [][]string
		drop := false
		for _, p := range active {
			switch {
			case p[0] != "*":
				next = append(next, p) // lists are transparent to named keys
			case len(p) == 1:
				drop = true
			default:
				next = append(next, p[1:])
			}
		}
		first := true
		for dec.More() {
			if !first {
				out.WriteByte(',')
			}
			first = false
			if drop { // "*" at the end on a list: keep the slot, lose the value
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
				out.WriteString("null")
				continue
			}
			if err := stripValue(dec, out, next); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return err
		}
		out.WriteByte(']')
	default:
		if s, ok := t.(string); ok {
			writeString(out, s)
			break
		}
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		out.Write(b)
	}
	return nil
}

func writeString(out *bytes.Buffer, s string) {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out.Truncate(out.Len() - 1) // Encode adds a newline
}
