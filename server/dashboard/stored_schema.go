package dashboard

import "github.com/cfmcp/codefresh-mcp/pipeline/dataset"

// storedSchema is the tables and columns of one _dlt_version body, in order,
// for diffing one version against the one before.
type storedSchema struct {
	order  []string
	tables map[string][]dataset.SchemaColumn
}

func parseStoredSchema(body string) storedSchema {
	out := storedSchema{tables: map[string][]dataset.SchemaColumn{}}
	for _, t := range dataset.ParseSchemaTables(body) {
		if _, dup := out.tables[t.Name]; !dup {
			out.order = append(out.order, t.Name)
		}
		out.tables[t.Name] = t.Columns
	}
	return out
}

// has tells whether table has column in this version.
func (ss storedSchema) has(table, column string) bool {
	for _, c := range ss.tables[table] {
		if c.Name == column {
			return true
		}
	}
	return false
}

// primaryKey is the set of a table's primary-key columns.
func (ss storedSchema) primaryKey(table string) map[string]bool {
	out := map[string]bool{}
	for _, c := range ss.tables[table] {
		if c.PrimaryKey {
			out[c.Name] = true
		}
	}
	return out
}
