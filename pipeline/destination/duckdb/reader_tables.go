package duckdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
)

// viewDepth bounds how deep views over views are followed to their tables.
const viewDepth = 4

// tablesRead are the dataset tables a statement reads, sorted: the base
// tables of DuckDB's own syntax tree of it (json_serialize_sql), with views
// outside the dataset schema (the CI views of <dataset>_ci) followed to the
// tables their definitions read. Only names the dataset schema holds are
// kept (the Parquet reader's tables are views there and are kept as they
// are), so a CTE's own name drops out; a CTE named like a dataset table
// counts as that table, which over-reports rather than miss one.
func (s *session) tablesRead(ctx context.Context, ast map[string]any) ([]string, error) {
	refs := map[string]bool{}
	if err := s.collectTables(ctx, ast, refs, viewDepth); err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, nil
	}
	names, err := queryStrings(ctx, s.conn, `SELECT DISTINCT table_name FROM `+relations+`
		WHERE database_name = current_database() AND schema_name = ? ORDER BY table_name`, s.dataset)
	if err != nil {
		return nil, fmt.Errorf("tables read: %w", err)
	}
	var out []string
	for _, n := range names {
		if refs[strings.ToLower(n)] {
			out = append(out, n)
		}
	}
	return out, nil
}

// collectTables adds to refs the lower-cased dataset table names ast reads,
// following views of other schemas depth levels down.
func (s *session) collectTables(ctx context.Context, ast map[string]any, refs map[string]bool, depth int) error {
	type view struct{ schema, name string }
	var views []view
	dataset.WalkJSON(ast, func(m map[string]any) {
		if m["type"] != "BASE_TABLE" {
			return
		}
		name, _ := m["table_name"].(string)
		schema, _ := m["schema_name"].(string)
		switch {
		case name == "":
		case schema == "" || strings.EqualFold(schema, s.dataset):
			// Unqualified names resolve to the dataset through search_path.
			refs[strings.ToLower(name)] = true
		default:
			if v := (view{schema, name}); !slices.Contains(views, v) {
				views = append(views, v)
			}
		}
	})
	if depth == 0 {
		return nil
	}
	for _, v := range views {
		var def string
		err := s.conn.QueryRowContext(ctx, `SELECT sql FROM duckdb_views()
			WHERE database_name = current_database() AND NOT internal AND lower(schema_name) = lower(?) AND lower(view_name) = lower(?)`,
			v.schema, v.name).Scan(&def)
		if err != nil {
			continue // not a view of this database: a table elsewhere, nothing of the dataset's
		}
		inner, err := s.parse(ctx, def)
		if err != nil {
			return fmt.Errorf("view %s.%s: %w", v.schema, v.name, err)
		}
		// A view's definition is a CREATE VIEW; its SELECT is what the
		// serializer reads, so the CREATE prefix is cut off first.
		if inner == nil {
			if i := strings.Index(strings.ToUpper(def), " AS "); i >= 0 {
				if inner, err = s.parse(ctx, def[i+4:]); err != nil {
					return fmt.Errorf("view %s.%s: %w", v.schema, v.name, err)
				}
			}
		}
		if inner != nil {
			if err := s.collectTables(ctx, inner, refs, depth-1); err != nil {
				return err
			}
		}
	}
	return nil
}

// provenance names the latest loads present in each of the tables read
// that carry _dlt_load_id (the caps of dataset.Provenance* apply).
func (s *session) provenance(ctx context.Context, tables []string) ([]dataset.LoadRef, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	loaded, err := queryStrings(ctx, s.conn, `
		SELECT table_name FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND column_name = '_dlt_load_id'
		  AND EXISTS (SELECT 1 FROM `+relations+` WHERE database_name = current_database() AND schema_name = ? AND table_name = '_dlt_loads')
		ORDER BY table_name`, s.dataset, s.dataset)
	if err != nil {
		return nil, fmt.Errorf("provenance tables: %w", err)
	}
	var out []dataset.LoadRef
	for _, table := range dataset.ProvenanceTablesOf(loaded, tables) {
		rows, err := s.conn.QueryContext(ctx, dataset.ProvenanceQuery(s.dataset, table))
		if err != nil {
			return out, fmt.Errorf("provenance of %s: %w", table, err)
		}
		for rows.Next() {
			ref := dataset.LoadRef{Table: table}
			if err := rows.Scan(&ref.LoadID, &ref.LoadedAt); err != nil {
				rows.Close()
				return out, fmt.Errorf("provenance of %s: %w", table, err)
			}
			out = append(out, ref)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, fmt.Errorf("provenance of %s: %w", table, err)
		}
	}
	return out, nil
}
