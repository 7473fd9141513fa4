package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// schemaVersions is how many _dlt_version rows the evolution list reads.
const schemaVersions = 50

type schemaData struct {
	Dataset  string
	Tables   []schemaTable
	Changes  []schemaChange // newest first
	Variants int
	Note     string
}

type schemaTable struct {
	*dataset.TableInfo
	Depth    int // 0 for a root table, 1 for its children...
	Variants []string
}

// schemaChange is what one stored schema version added over the one before.
type schemaChange struct {
	Version    int64
	InsertedAt time.Time
	LoadIDs    []string
	NewTables  []string
	NewColumns []newColumn
}

type newColumn struct {
	Table, Column, Type string
	Variant             bool
}

// isVariant tells dlt's column for a type conflict, such as duration__v_text.
func isVariant(column string) bool { return strings.Contains(column, "__v_") }

// schema reads the catalog in one statement rather than a Describe per
// table: a page is a handful of brief opens of the file, whatever the
// number of tables, so a load's commit finds the file free between pages.
func (s *Server) schema(ctx context.Context, _ *http.Request) (any, error) {
	info, err := s.opts.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	d := &schemaData{Dataset: info.Dataset}
	cols, err := s.columns(ctx, info.Dataset)
	if err != nil {
		return nil, err
	}
	var newest storedSchema
	d.Changes, newest, err = s.schemaChanges(ctx, info)
	if err != nil {
		d.Note = err.Error()
	}
	parent := map[string]string{}
	for _, t := range info.Tables {
		parent[t.Name] = t.Parent
	}
	for _, t := range info.Tables {
		if t.System {
			continue
		}
		ti := &dataset.TableInfo{Name: t.Name, Dataset: info.Dataset, Rows: t.Rows}
		pk := newest.primaryKey(t.Name)
		hasRoot := false
		for _, c := range cols[t.Name] {
			c.PrimaryKey = pk[c.Name]
			ti.Columns = append(ti.Columns, c)
			hasRoot = hasRoot || c.Name == "_dlt_root_id"
		}
		st := schemaTable{TableInfo: ti}
		if p := t.Parent; p != "" {
			ti.Parent = &dataset.Join{Table: p, On: joinOn(t.Name, "_dlt_parent_id", p)}
			root := p
			for parent[root] != "" && st.Depth < 10 {
				root = parent[root]
				st.Depth++
			}
			st.Depth++
			if root != p && hasRoot {
				ti.Root = &dataset.Join{Table: root, On: joinOn(t.Name, "_dlt_root_id", root)}
			}
		}
		for _, c := range info.Tables {
			if c.Parent == t.Name {
				ti.Children = append(ti.Children, dataset.Join{Table: c.Name, On: joinOn(c.Name, "_dlt_parent_id", t.Name)})
			}
		}
		for _, c := range ti.Columns {
			if isVariant(c.Name) {
				st.Variants = append(st.Variants, c.Name)
			}
		}
		d.Variants += len(st.Variants)
		d.Tables = append(d.Tables, st)
	}
	return d, nil
}

// columns lists every table's columns in order, from information_schema
// (DuckDB, its Parquet views and PostgreSQL all have it).
func (s *Server) columns(ctx context.Context, ds string) (map[string][]dataset.ColumnInfo, error) {
	res, err := s.read(ctx, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = `+
		literal(ds)+` ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	out := map[string][]dataset.ColumnInfo{}
	for _, r := range res.Rows {
		t := asString(r[0])
		out[t] = append(out[t], dataset.ColumnInfo{Name: asString(r[1]), Type: asString(r[2]), Nullable: strings.EqualFold(asString(r[3]), "YES")})
	}
	return out, nil
}

// joinOn is the join of a child table to its parent (or root), as describe_table writes it.
func joinOn(child, col, parent string) string {
	return sqlName(child) + "." + col + " = " + sqlName(parent) + "._dlt_id"
}

// sqlName leaves a plain lower-case name bare and quotes any other.
func sqlName(name string) string {
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return ident(name)
		}
	}
	return name
}

// schemaChanges diffs the stored schema versions, oldest to newest, and
// names the loads that wrote each one (by _dlt_loads.schema_version_hash).
func (s *Server) schemaChanges(ctx context.Context, info *dataset.Info) ([]schemaChange, storedSchema, error) {
	var prev storedSchema
	if !hasTable(info, "_dlt_version") {
		return nil, prev, nil
	}
	res, err := s.read(ctx, fmt.Sprintf(`SELECT version, version_hash, inserted_at, schema FROM %s ORDER BY version DESC, inserted_at DESC LIMIT %d`,
		qualified(info.Dataset, "_dlt_version"), schemaVersions))
	if err != nil {
		return nil, prev, fmt.Errorf("schema history: %w", err)
	}
	byHash := map[string][]string{}
	if hasTable(info, "_dlt_loads") {
		lr, err := s.read(ctx, fmt.Sprintf(`SELECT load_id, schema_version_hash FROM %s ORDER BY inserted_at, load_id`, qualified(info.Dataset, "_dlt_loads")))
		if err != nil {
			return nil, prev, fmt.Errorf("schema history loads: %w", err)
		}
		for _, r := range lr.Rows {
			h := asString(r[1])
			byHash[h] = append(byHash[h], asString(r[0]))
		}
	}
	rows := res.Rows
	var out []schemaChange
	// Walk oldest first; the oldest version read is diffed against nothing
	// only when it is the very first one.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		cur := parseStoredSchema(asString(r[3]))
		if i == len(rows)-1 && len(rows) == schemaVersions {
			prev = cur // older history is not read: start from this one
			continue
		}
		ch := schemaChange{Version: asInt(r[0]), InsertedAt: asTime(r[2]), LoadIDs: byHash[asString(r[1])]}
		for _, t := range cur.order {
			_, existed := prev.tables[t]
			if !existed {
				ch.NewTables = append(ch.NewTables, t)
			}
			for _, c := range cur.tables[t] {
				if existed && prev.has(t, c.Name) {
					continue
				}
				// A new table's columns are not listed, only its variants.
				if existed || isVariant(c.Name) {
					ch.NewColumns = append(ch.NewColumns, newColumn{Table: t, Column: c.Name, Type: c.DataType, Variant: isVariant(c.Name)})
				}
			}
		}
		out = append([]schemaChange{ch}, out...)
		prev = cur
	}
	return out, prev, nil
}

func hasTable(info *dataset.Info, name string) bool {
	for _, t := range info.Tables {
		if t.Name == name {
			return true
		}
	}
	return false
}
