package destination

import (
	"context"
	"fmt"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Columns are the column names of a SQL dataset's tables (table -> column
// -> true), as a commit reads them from the database's catalog and then
// keeps them up to date as it creates and alters tables.
type Columns map[string]map[string]bool

// Rows is what ScanColumns needs of a result set: *sql.Rows and pgx.Rows
// both are one.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanColumns reads catalog rows of (table name, column name).
func ScanColumns(rows Rows) (Columns, error) {
	cols := Columns{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return nil, fmt.Errorf("read columns: %w", err)
		}
		if cols[table] == nil {
			cols[table] = map[string]bool{}
		}
		cols[table][column] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	return cols, nil
}

// Ensure creates the table name (target is its qualified name) with cols,
// or adds the columns it lacks, through exec; sqlType is the dialect's
// column type. NOT NULL is set only at creation, as rows already there
// would have no value.
func (have Columns) Ensure(ctx context.Context, exec func(ctx context.Context, q string, args ...any) (int64, error),
	sqlType func(normalize.DataType) (string, error), name, target string, cols []*normalize.Column) error {
	if have[name] == nil {
		defs := make([]string, 0, len(cols))
		for _, col := range cols {
			typ, err := sqlType(col.DataType)
			if err != nil {
				return fmt.Errorf("table %s column %s: %w", name, col.Name, err)
			}
			def := stage.QuoteIdent(col.Name) + " " + typ
			if !col.Nullable {
				def += " NOT NULL"
			}
			defs = append(defs, def)
		}
		if len(defs) == 0 {
			return fmt.Errorf("table %s has no columns", name)
		}
		if _, err := exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", target, strings.Join(defs, ", "))); err != nil {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		have[name] = map[string]bool{}
		for _, col := range cols {
			have[name][col.Name] = true
		}
		return nil
	}
	for _, col := range cols {
		if have[name][col.Name] {
			continue
		}
		typ, err := sqlType(col.DataType)
		if err != nil {
			return fmt.Errorf("table %s column %s: %w", name, col.Name, err)
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", target, stage.QuoteIdent(col.Name), typ)
		if _, err := exec(ctx, q); err != nil {
			return fmt.Errorf("table %s: add column %s: %w", name, col.Name, err)
		}
		have[name][col.Name] = true
	}
	return nil
}

// ScanViewComments reads catalog rows of (view name, comment) of one
// schema, where a schema without views is one row with an empty name and
// a missing schema is no row: the result is nil for a missing schema.
func ScanViewComments(rows Rows) (map[string]string, error) {
	var comments map[string]string
	for rows.Next() {
		var view, comment string
		if err := rows.Scan(&view, &comment); err != nil {
			return nil, fmt.Errorf("read view comments: %w", err)
		}
		if comments == nil {
			comments = map[string]string{}
		}
		if view != "" {
			comments[view] = comment
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read view comments: %w", err)
	}
	return comments, nil
}
