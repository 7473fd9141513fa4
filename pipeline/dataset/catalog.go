package dataset

import (
	"context"
	"strings"
)

// catalogSession is what Info and Describe read through one session of a
// reader; each engine answers with its own SQL.
type catalogSession interface {
	catalog(ctx context.Context) (names []string, cols map[string][]ColumnInfo, err error)
	rowCount(ctx context.Context, table string) (int64, error)
	schemaVersions(ctx context.Context) ([]SchemaVersion, []dltSchema, error)
	loads(ctx context.Context) ([]Load, error)
	pipelineStates(ctx context.Context) ([]PipelineState, error)
}

// readInfo fills info (destination, location and dataset already set)
// with the dataset's tables, recent loads, pipeline states and schemas.
func readInfo(ctx context.Context, s catalogSession, info *Info) (*Info, error) {
	names, cols, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	has := func(t string) bool { _, ok := cols[t]; return ok }
	info.Tables, info.Loads = []TableSummary{}, []Load{}

	var schemas []dltSchema
	if has("_dlt_version") {
		if info.Schemas, schemas, err = s.schemaVersions(ctx); err != nil {
			return nil, err
		}
	}
	parents := parentTables(names, cols, schemas)
	var system []TableSummary
	for _, name := range names {
		n, err := s.rowCount(ctx, name)
		if err != nil {
			return nil, err
		}
		ts := TableSummary{Name: name, Rows: n, Columns: len(cols[name]), Parent: parents[name], System: isSystem(name)}
		if ts.System {
			system = append(system, ts)
		} else {
			info.Tables = append(info.Tables, ts)
		}
	}
	info.Tables = append(info.Tables, system...)

	if has("_dlt_loads") {
		if info.Loads, err = s.loads(ctx); err != nil {
			return nil, err
		}
	}
	if has("_dlt_pipeline_state") {
		if info.PipelineStates, err = s.pipelineStates(ctx); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// describe tells one table of the dataset: its columns and primary key,
// row count, and how it joins its parent, root and children.
func describe(ctx context.Context, s catalogSession, dataset, table string) (*TableInfo, error) {
	name := bareTableName(table, dataset)
	names, cols, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	columns, ok := cols[name]
	if !ok {
		return nil, &TableNotFoundError{Table: table, Dataset: dataset, Known: names}
	}
	var schemas []dltSchema
	if _, ok := cols["_dlt_version"]; ok {
		if _, schemas, err = s.schemaVersions(ctx); err != nil {
			return nil, err
		}
	}
	n, err := s.rowCount(ctx, name)
	if err != nil {
		return nil, err
	}
	ti := &TableInfo{Name: name, Dataset: dataset, Rows: n, System: isSystem(name)}

	pk := primaryKey(schemas, name)
	for _, c := range columns {
		c.PrimaryKey = pk[c.Name]
		ti.Columns = append(ti.Columns, c)
		if c.PrimaryKey {
			ti.PrimaryKey = append(ti.PrimaryKey, c.Name)
		}
	}

	parents := parentTables(names, cols, schemas)
	if p := parents[name]; p != "" {
		ti.Parent = &Join{Table: p, On: joinOn(name, "_dlt_parent_id", p)}
		root := p
		for parents[root] != "" {
			root = parents[root]
		}
		if root != p && hasColumn(columns, "_dlt_root_id") {
			ti.Root = &Join{Table: root, On: joinOn(name, "_dlt_root_id", root)}
		}
	}
	for _, child := range names {
		if parents[child] == name {
			ti.Children = append(ti.Children, Join{Table: child, On: joinOn(child, "_dlt_parent_id", name)})
		}
	}
	return ti, nil
}

// bareTableName accepts "t", "dataset.t" and quoted forms, and returns the bare name.
func bareTableName(table, dataset string) string {
	parts := strings.Split(strings.TrimSpace(table), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"`)
	}
	if len(parts) == 2 && parts[0] == dataset {
		return parts[1]
	}
	return strings.Join(parts, ".")
}
