package dataset

import (
	"encoding/json"
	"sort"
)

// SchemaTable is one table of a stored dlt schema (a _dlt_version body).
type SchemaTable struct {
	Name    string
	Parent  string
	Columns []SchemaColumn
}

// SchemaColumn is one column of a SchemaTable.
type SchemaColumn struct {
	Name       string
	DataType   string // dlt's: text, bigint, timestamp...
	PrimaryKey bool
}

// ParseSchemaTables reads the tables and columns of a stored dlt schema, in
// the body's order (objects keyed by name, dlt's form, sorted by name). An
// unreadable body has no tables. It serves readers of schema history.
func ParseSchemaTables(body string) []SchemaTable {
	var doc struct {
		Tables json.RawMessage `json:"tables"`
	}
	if json.Unmarshal([]byte(body), &doc) != nil {
		return nil
	}
	var out []SchemaTable
	for _, te := range sortedEntries(doc.Tables) {
		var t struct {
			Name    string          `json:"name"`
			Parent  string          `json:"parent"`
			Columns json.RawMessage `json:"columns"`
		}
		if json.Unmarshal(te.raw, &t) != nil {
			continue
		}
		st := SchemaTable{Name: t.Name, Parent: t.Parent}
		if st.Name == "" {
			st.Name = te.key
		}
		for _, ce := range sortedEntries(t.Columns) {
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
			st.Columns = append(st.Columns, SchemaColumn{Name: c.Name, DataType: c.DataType, PrimaryKey: c.PrimaryKey})
		}
		if st.Name != "" {
			out = append(out, st)
		}
	}
	return out
}

// sortedEntries is entries with an object's members in key order (a JSON
// object carries none); an array keeps its own.
func sortedEntries(raw json.RawMessage) []entry {
	es := entries(raw)
	sort.SliceStable(es, func(i, j int) bool { return es[i].key < es[j].key })
	return es
}
