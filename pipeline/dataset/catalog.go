package dataset

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Catalog is what Info and Describe read through one session of a
// reader; each engine answers with its own SQL.
type Catalog interface {
	// Tables lists the dataset's tables and their columns, in column order.
	Tables(ctx context.Context) (names []string, cols map[string][]ColumnInfo, err error)
	RowCount(ctx context.Context, table string) (int64, error)
	// SchemaVersions are the newest _dlt_version row of each schema and its body.
	SchemaVersions(ctx context.Context) ([]SchemaVersion, []string, error)
	// Loads are the newest RecentLoads rows of _dlt_loads.
	Loads(ctx context.Context) ([]Load, error)
	// PipelineStates are the newest state row of each pipeline.
	PipelineStates(ctx context.Context) ([]PipelineState, error)
}

// RecentLoads is how many _dlt_loads rows Info returns.
const RecentLoads = 10

// ReadInfo fills info (destination, location and dataset already set)
// with the dataset's tables, recent loads, pipeline states and schemas.
func ReadInfo(ctx context.Context, s Catalog, info *Info) (*Info, error) {
	names, cols, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	has := func(t string) bool { _, ok := cols[t]; return ok }
	info.Tables, info.Loads = []TableSummary{}, []Load{}

	var schemas []dltSchema
	if has("_dlt_version") {
		var bodies []string
		if info.Schemas, bodies, err = s.SchemaVersions(ctx); err != nil {
			return nil, err
		}
		schemas = parseDltSchemas(bodies)
	}
	parents := parentTables(names, cols, schemas)
	var system []TableSummary
	for _, name := range names {
		n, err := s.RowCount(ctx, name)
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
		if info.Loads, err = s.Loads(ctx); err != nil {
			return nil, err
		}
	}
	if has("_dlt_pipeline_state") {
		if info.PipelineStates, err = s.PipelineStates(ctx); err != nil {
			return nil, err
		}
	}
	if info.Views, err = readViews(ctx, s, info.Dataset); err != nil {
		return nil, err
	}
	return info, nil
}

// Describe tells one table of the dataset: its columns and primary key,
// row count, and how it joins its parent, root and children.
func Describe(ctx context.Context, s Catalog, dataset, table string) (*TableInfo, error) {
	name := bareTableName(table, dataset)
	names, cols, err := s.Tables(ctx)
	if err != nil {
		return nil, err
	}
	if view, ok := ciViewName(table, dataset, cols); ok {
		return describeView(ctx, s, dataset, view, table)
	}
	columns, ok := cols[name]
	if !ok {
		return nil, &TableNotFoundError{Table: table, Dataset: dataset, Known: names}
	}
	var schemas []dltSchema
	if _, ok := cols["_dlt_version"]; ok {
		_, bodies, err := s.SchemaVersions(ctx)
		if err != nil {
			return nil, err
		}
		schemas = parseDltSchemas(bodies)
	}
	n, err := s.RowCount(ctx, name)
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

// parentTables maps each child table to its parent: from the dlt schema
// when it says, else the longest existing prefix before a "__" of a table
// that has _dlt_parent_id.
func parentTables(names []string, cols map[string][]ColumnInfo, schemas []dltSchema) map[string]string {
	parents := map[string]string{}
	for _, name := range names {
		if p := schemaParent(schemas, name); p != "" {
			parents[name] = p
			continue
		}
		if !hasColumn(cols[name], "_dlt_parent_id") {
			continue
		}
		for i := strings.LastIndex(name, "__"); i > 0; i = strings.LastIndex(name[:i], "__") {
			if _, ok := cols[name[:i]]; ok {
				parents[name] = name[:i]
				break
			}
		}
	}
	return parents
}

func hasColumn(cols []ColumnInfo, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

func joinOn(child, col, parent string) string {
	return sqlName(child) + "." + col + " = " + sqlName(parent) + "._dlt_id"
}

func isSystem(table string) bool { return strings.HasPrefix(table, "_dlt_") }

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

// RowScanner is what the scans below need of a result set: *sql.Rows and
// pgx.Rows both are one. Nullable values scan into pointers, which both
// drivers leave nil for NULL.
type RowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanCatalog reads rows of (table, column, type, nullable) in column
// order into the tables' names, in order, and their columns.
func ScanCatalog(rows RowScanner, dataset string) (names []string, cols map[string][]ColumnInfo, err error) {
	cols = map[string][]ColumnInfo{}
	for rows.Next() {
		var table string
		var c ColumnInfo
		if err := rows.Scan(&table, &c.Name, &c.Type, &c.Nullable); err != nil {
			return nil, nil, fmt.Errorf("list tables of %s: %w", dataset, err)
		}
		if _, ok := cols[table]; !ok {
			names = append(names, table)
		}
		cols[table] = append(cols[table], c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list tables of %s: %w", dataset, err)
	}
	return names, cols, nil
}

// ScanLoads reads _dlt_loads rows of (load_id, schema_name, status,
// inserted_at, schema_version_hash).
func ScanLoads(rows RowScanner) ([]Load, error) {
	out := []Load{}
	for rows.Next() {
		var l Load
		var schema, hash *string
		var status *int64
		if err := rows.Scan(&l.LoadID, &schema, &status, &l.InsertedAt, &hash); err != nil {
			return nil, fmt.Errorf("read _dlt_loads: %w", err)
		}
		l.SchemaName, l.Status, l.SchemaVersionHash = deref(schema), deref(status), deref(hash)
		l.InsertedAt = l.InsertedAt.UTC()
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read _dlt_loads: %w", err)
	}
	return out, nil
}

// ScanPipelineStates reads _dlt_pipeline_state rows of (pipeline_name,
// version, engine_version, created_at, _dlt_load_id, state).
func ScanPipelineStates(rows RowScanner) ([]PipelineState, error) {
	var out []PipelineState
	for rows.Next() {
		var p PipelineState
		var version, engine *int64
		var created *time.Time
		var loadID, state *string
		if err := rows.Scan(&p.PipelineName, &version, &engine, &created, &loadID, &state); err != nil {
			return nil, fmt.Errorf("read _dlt_pipeline_state: %w", err)
		}
		p.Version, p.EngineVersion, p.LoadID = deref(version), deref(engine), deref(loadID)
		if created != nil {
			p.CreatedAt = created.UTC()
		}
		p.State = decodeState(deref(state))
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read _dlt_pipeline_state: %w", err)
	}
	return out, nil
}

// ScanSchemaVersions reads _dlt_version rows of (schema_name, version,
// engine_version, version_hash, inserted_at, schema), and each body.
func ScanSchemaVersions(rows RowScanner) ([]SchemaVersion, []string, error) {
	var versions []SchemaVersion
	var bodies []string
	for rows.Next() {
		var v SchemaVersion
		var version, engine *int64
		var hash, body *string
		var inserted *time.Time
		if err := rows.Scan(&v.SchemaName, &version, &engine, &hash, &inserted, &body); err != nil {
			return nil, nil, fmt.Errorf("read _dlt_version: %w", err)
		}
		v.Version, v.EngineVersion, v.VersionHash = deref(version), deref(engine), deref(hash)
		if inserted != nil {
			v.InsertedAt = inserted.UTC()
		}
		versions = append(versions, v)
		bodies = append(bodies, deref(body))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read _dlt_version: %w", err)
	}
	return versions, bodies, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
