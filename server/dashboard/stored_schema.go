package dashboard

import (
	"encoding/json"
	"sort"
)

// storedSchema is the tables and columns of one _dlt_version body, in order.
type storedSchema struct {
	order  []string
	tables map[string]storedColumns
}

type storedColumn struct {
	name, typ  string
	primaryKey bool
}

type storedColumns []storedColumn

func (cs storedColumns) has(name string) bool {
	for _, c := range cs {
		if c.name == name {
			return true
		}
	}
	return false
}

// parseStoredSchema reads a dlt schema body. Tables and columns may be
// arrays of named objects (ours) or objects keyed by name (dlt's); an
// unreadable body is an empty schema.
func parseStoredSchema(body string) storedSchema {
	out := storedSchema{tables: map[string]storedColumns{}}
	var doc struct {
		Tables json.RawMessage `json:"tables"`
	}
	if json.Unmarshal([]byte(body), &doc) != nil {
		return out
	}
	for _, te := range members(doc.Tables) {
		var t struct {
			Name    string          `json:"name"`
			Columns json.RawMessage `json:"columns"`
		}
		if json.Unmarshal(te.raw, &t) != nil {
			continue
		}
		if t.Name == "" {
			t.Name = te.key
		}
		var cols storedColumns
		for _, ce := range members(t.Columns) {
			var c struct {
				Name       string `json:"name"`
				DataType   string `json:"data_type"`
				PrimaryKey bool   `json:"primary_key"`
			}
			if json.Unmarshal(ce.raw, &c) != nil {
				continue
			}
			if c.Name == "" {
				c.Name = ce.key
			}
			cols = append(cols, storedColumn{c.Name, c.DataType, c.PrimaryKey})
		}
		if _, dup := out.tables[t.Name]; !dup && t.Name != "" {
			out.order = append(out.order, t.Name)
		}
		out.tables[t.Name] = cols
	}
	return out
}

// primaryKey is the set of a table's primary-key columns.
func (ss storedSchema) primaryKey(table string) map[string]bool {
	out := map[string]bool{}
	for _, c := range ss.tables[table] {
		if c.primaryKey {
			out[c.name] = true
		}
	}
	return out
}

type member struct {
	key string // "" for an array element
	raw json.RawMessage
}

// members lists a JSON array's elements or an object's values with their keys.
func members(raw json.RawMessage) []member {
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		out := make([]member, len(arr))
		for i, v := range arr {
			out[i] = member{raw: v}
		}
		return out
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // objects carry no order: keep the page stable
	out := make([]member, 0, len(obj))
	for _, k := range keys {
		out = append(out, member{k, obj[k]})
	}
	return out
}
