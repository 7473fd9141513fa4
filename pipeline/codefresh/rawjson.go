package codefresh

import (
	"bytes"
	"encoding/json"
)

// A small byte-level JSON walker: it finds records inside a body, reads key
// order and cuts secret fields out of raw records in one pass, without the
// repeated validation and copying of encoding/json. Bodies are validated once
// (json.Valid in get); on malformed input every function reports failure
// instead of panicking.

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] ('"'), or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !isDelim(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\n', '\r', '\t':
		return true
	}
	return false
}

// members calls fn for each member of the object b (leading whitespace
// allowed) with the decoded key, the raw key and the raw value. It reports
// whether b is a well-formed object.
func members(b []byte, fn func(key string, rawKey, val []byte)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return false
		}
		ke := stringEnd(b, i)
		if ke < 0 {
			return false
		}
		rawKey := b[i:ke]
		i = skipWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		vs := skipWS(b, i+1)
		ve := valueEnd(b, vs)
		if ve < 0 {
			return false
		}
		fn(unquote(rawKey), rawKey, b[vs:ve])
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

// elements calls fn for each element of the array b; it reports whether b is
// a well-formed array.
func elements(b []byte, fn func(val []byte)) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for {
		ve := valueEnd(b, i)
		if ve < 0 {
			return false
		}
		fn(b[i:ve])
		i = skipWS(b, ve)
		if i >= len(b) {
			return false
		}
		if b[i] == ']' {
			return true
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
}

func unquote(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// member returns the raw value of key in object b (the last one if repeated,
// as encoding/json does).
func member(b []byte, key string) ([]byte, bool) {
	var out []byte
	found := false
	members(b, func(k string, _, v []byte) {
		if k == key {
			out, found = v, true
		}
	})
	return out, found
}

// stripRaw returns raw without the values the paths name (dropPath's syntax),
// everything else byte for byte and in order.
func stripRaw(raw []byte, paths []string) []byte {
	if len(paths) == 0 {
		return raw
	}
	active := make([][]string, len(paths))
	for i, p := range paths {
		active[i] = splitPath(p)
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	stripInto(&out, bytes.TrimSpace(raw), active)
	return out.Bytes()
}

func stripInto(out *bytes.Buffer, b []byte, active [][]string) {
	if len(active) == 0 || len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		out.Write(b)
		return
	}
	first := true
	sep := func() {
		if !first {
			out.WriteByte(',')
		}
		first = false
	}
	if b[0] == '{' {
		out.WriteByte('{')
		members(b, func(k string, rawKey, val []byte) {
			var next [][]string
			for _, p := range active {
				if p[0] != "*" && p[0] != k {
					continue
				}
				if len(p) == 1 {
					return // dropped
				}
				next = append(next, p[1:])
			}
			sep()
			out.Write(rawKey)
			out.WriteByte(':')
			stripInto(out, val, next)
		})
		out.WriteByte('}')
		return
	}
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
	out.WriteByte('[')
	elements(b, func(val []byte) {
		sep()
		if drop { // "*" last on a list: keep the slot, lose the value
			out.WriteString("null")
			return
		}
		stripInto(out, val, next)
	})
	out.WriteByte(']')
}

// objectKeyOrder returns the keys of the object at path in raw, in document
// order; nil if raw has no object there.
func objectKeyOrder(raw []byte, path []string) []string {
	cur := raw
	for _, seg := range path {
		v, ok := member(cur, seg)
		if !ok {
			return nil
		}
		cur = v
	}
	var keys []string
	if !members(cur, func(k string, _, _ []byte) { keys = append(keys, k) }) {
		return nil
	}
	return keys
}
