package codefresh

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// Prepare makes a decoded record ready to store, in place: it drops every
// SecretFields path and turns every KeyedObjects path (an object keyed by
// name) into a list of {"name": key, ...value fields} in the key order of raw,
// the record's JSON as received (Go maps forget order). Without a usable raw
// the keys are sorted. A keyed value that is not an object becomes
// {"name": key, "value": v}; the key wins over a "name" field in the value.
// Prepare is idempotent; Pages has already applied it to Page.Records.
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
		order, _ := jsonpage.Keys(raw, segs...)
		parent[last] = keyedToList(obj, order)
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
		if seg != "*" { // a named key: look it up, not walk every key of a wide record
			if child, ok := x[seg]; ok {
				if last {
					delete(x, seg)
				} else {
					dropPath(child, path[1:])
				}
			}
			return
		}
		for k, child := range x {
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
