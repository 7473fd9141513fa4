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

func (s *Server) schema(ctx context.Context, _ *http.Request) (any, error) {
	info, err := s.opts.Reader.Info(ctx)
	if err != nil {
		return nil, err
	}
	d := &schemaData{Dataset: info.Dataset}
	for _, t := range info.Tables {
		if t.System {
			continue
		}
		ti, err := s.opts.Reader.Describe(ctx, t.Name)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", t.Name, err)
		}
		st := schemaTable{TableInfo: ti, Depth: strings.Count(t.Name, "__")}
		if ti.Parent == nil {
			st.Depth = 0
		}
		for _, c := range ti.Columns {
			if isVariant(c.Name) {
				st.Variants = append(st.Variants, c.Name)
			}
		}
		d.Variants += len(st.Variants)
		d.Tables = append(d.Tables, st)
	}
	if d.Changes, err = s.schemaChanges(ctx, info); err != nil {
		d.Note = err.Error()
	}
	return d, nil
}

// schemaChanges diffs the stored schema versions, oldest to newest, and
// names the loads that wrote each one (by _dlt_loads.schema_version_hash).
func (s *Server) schemaChanges(ctx context.Context, info *dataset.Info) ([]schemaChange, error) {
	if !hasTable(info, "_dlt_version") {
		return nil, nil
	}
	res, err := s.read(ctx, fmt.Sprintf(`SELECT version, version_hash, inserted_at, schema FROM %s ORDER BY version DESC, inserted_at DESC LIMIT %d`,
		qualified(info.Dataset, "_dlt_version"), schemaVersions))
	if err != nil {
		return nil, fmt.Errorf("schema history: %w", err)
	}
	byHash := map[string][]string{}
	if hasTable(info, "_dlt_loads") {
		lr, err := s.read(ctx, fmt.Sprintf(`SELECT load_id, schema_version_hash FROM %s ORDER BY inserted_at, load_id`, qualified(info.Dataset, "_dlt_loads")))
		if err != nil {
			return nil, fmt.Errorf("schema history loads: %w", err)
		}
		for _, r := range lr.Rows {
			h := asString(r[1])
			byHash[h] = append(byHash[h], asString(r[0]))
		}
	}
	rows := res.Rows
	var out []schemaChange
	var prev storedSchema
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
			cols, existed := prev.tables[t]
			if !existed {
				ch.NewTables = append(ch.NewTables, t)
			}
			for _, c := range cur.tables[t] {
				if existed && cols.has(c.name) {
					continue
				}
				if existed || isVariant(c.name) {
					ch.NewColumns = append(ch.NewColumns, newColumn{Table: t, Column: c.name, Type: c.typ, Variant: isVariant(c.name)})
				}
			}
		}
		out = append([]schemaChange{ch}, out...)
		prev = cur
	}
	return out, nil
}

func hasTable(info *dataset.Info, name string) bool {
	for _, t := range info.Tables {
		if t.Name == name {
			return true
		}
	}
	return false
}
