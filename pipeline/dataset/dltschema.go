package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
)

// dltSchema is what the reader needs from a _dlt_version schema body:
// per table, its parent and primary-key columns.
type dltSchema map[string]dltTable

type dltTable struct {
	parent string
	pk     map[string]bool
}

// parseDltSchema reads a dlt schema JSON (see ParseSchemaTables); anything
// unreadable yields an empty schema rather than an error.
func parseDltSchema(body string) dltSchema {
	out := dltSchema{}
	for _, t := range ParseSchemaTables(body) {
		dt := dltTable{parent: t.Parent, pk: map[string]bool{}}
		for _, c := range t.Columns {
			if c.PrimaryKey && c.Name != "" {
				dt.pk[c.Name] = true
			}
		}
		out[t.Name] = dt
	}
	return out
}

// parseDltSchemas parses each body.
func parseDltSchemas(bodies []string) []dltSchema {
	out := make([]dltSchema, len(bodies))
	for i, b := range bodies {
		out[i] = parseDltSchema(b)
	}
	return out
}

type entry struct {
	key string // "" for an array element
	raw json.RawMessage
}

// entries lists the members of a JSON object with their keys, or of an array.
func entries(raw json.RawMessage) []entry {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil {
		out := make([]entry, 0, len(obj))
		for k, v := range obj {
			out = append(out, entry{k, v})
		}
		return out
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil {
		return nil
	}
	out := make([]entry, 0, len(arr))
	for _, v := range arr {
		out = append(out, entry{"", v})
	}
	return out
}

func schemaParent(schemas []dltSchema, table string) string {
	for _, s := range schemas {
		if t, ok := s[table]; ok && t.parent != "" {
			return t.parent
		}
	}
	return ""
}

func primaryKey(schemas []dltSchema, table string) map[string]bool {
	for _, s := range schemas {
		if t, ok := s[table]; ok && len(t.pk) > 0 {
			return t.pk
		}
	}
	return nil
}

// decodeState returns a pipeline state as JSON: stored as JSON text, or as
// dlt compresses it (base64 of zlib of JSON); otherwise as a JSON string.
func decodeState(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	if z, err := base64.StdEncoding.DecodeString(s); err == nil {
		if zr, err := zlib.NewReader(bytes.NewReader(z)); err == nil {
			if b, err := io.ReadAll(io.LimitReader(zr, 16<<20)); err == nil && json.Valid(b) {
				return json.RawMessage(b)
			}
		}
	}
	b, _ := json.Marshal(s)
	return b
}
