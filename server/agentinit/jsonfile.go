package agentinit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// object is a JSON object that remembers its key order, so a file we merge
// into keeps the order its owner wrote (encoding/json maps would sort it).
// Values are *object, []any, string, json.Number, bool or nil.
type object struct {
	keys []string
	vals map[string]any
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// set stores v under key (new keys go last) and reports whether anything changed.
func (o *object) set(key string, v any) bool {
	old, ok := o.vals[key]
	if ok && jsonEqual(old, v) {
		return false
	}
	if !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
	return true
}

// setDefault stores v only when key is absent: the user's value wins.
func (o *object) setDefault(key string, v any) bool {
	if _, ok := o.vals[key]; ok {
		return false
	}
	return o.set(key, v)
}

// child returns the object under key, creating it when absent. A non-object
// value there is an error: we never overwrite what we do not understand.
func (o *object) child(key, where string) (*object, bool, error) {
	v, ok := o.vals[key]
	if !ok {
		c := newObject()
		o.set(key, c)
		return c, true, nil
	}
	c, isObj := v.(*object)
	if !isObj {
		return nil, false, fmt.Errorf("%s%q is not a JSON object; fix or remove it and run init again", where, key)
	}
	return c, false, nil
}

// parseJSONObject reads a whole JSON document whose top level is an object.
// Empty (or blank) input is an empty object.
// settingsSection parses an agent's JSON settings file and returns it
// with its top-level object key, made (changed) when missing.
func settingsSection(data []byte, key string) (root, section *object, changed bool, err error) {
	root, err = parseJSONObject(data)
	if err != nil {
		return nil, nil, false, fmt.Errorf("not valid JSON (fix it and run init again): %w", err)
	}
	section, changed, err = root.child(key, "")
	return root, section, changed, err
}

func parseJSONObject(data []byte) (*object, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return newObject(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the top-level JSON object")
	}
	o, ok := v.(*object)
	if !ok {
		return nil, errors.New("the top level is not a JSON object")
	}
	return o, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				o.set(key, v)
			}
			_, err := dec.Token() // '}'
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // string, json.Number, bool, nil
	}
}

// encodeJSON writes v indented with indent, ending with a newline, without
// HTML escaping (so "&" in a user's value stays "&").
func encodeJSON(v any, indent string) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, indent, 0)
	b.WriteByte('\n')
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any, indent string, depth int) {
	pad := func(d int) {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(indent, d))
	}
	switch t := v.(type) {
	case *object:
		if len(t.keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			pad(depth + 1)
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSON(b, t.vals[k], indent, depth+1)
		}
		pad(depth)
		b.WriteByte('}')
	case []any:
		if len(t) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			pad(depth + 1)
			writeJSON(b, e, indent, depth+1)
		}
		pad(depth)
		b.WriteByte(']')
	case []string:
		arr := make([]any, len(t))
		for i, s := range t {
			arr[i] = s
		}
		writeJSON(b, arr, indent, depth)
	case string:
		writeJSONString(b, t)
	case json.Number:
		b.WriteString(t.String())
	case bool:
		fmt.Fprint(b, t)
	case nil:
		b.WriteString("null")
	default:
		// Only the types above are ever built; anything else is a programming error.
		panic(fmt.Sprintf("agentinit: cannot encode %T as JSON", v))
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

func jsonEqual(a, b any) bool {
	return bytes.Equal(encodeJSON(a, ""), encodeJSON(b, ""))
}

// detectIndent returns the indentation of the first indented line, so a file
// indented with tabs or four spaces keeps its style; two spaces otherwise.
func detectIndent(data []byte) string {
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed != "" && len(trimmed) < len(line) {
			return line[:len(line)-len(trimmed)]
		}
	}
	return "  "
}
