// Package destinationtest holds what the tests of the destinations, the
// stage and the pipeline share: reading rows back as one comparable text.
// It imports nothing of the project, so the stage's own tests can use it.
package destinationtest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Cell writes one value of a row.
type Cell func(v any) string

// Sprint writes v as fmt.Sprint does (NULL as <nil>).
func Sprint(v any) string { return fmt.Sprint(v) }

// UTC is Sprint with a time in UTC as RFC 3339, as every destination's
// driver agrees on it whatever zone it returns.
func UTC(v any) string {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// Text joins rows as "a,b;c,d", each value written by cell.
func Text(rows [][]any, cell Cell) string {
	out := make([]string, len(rows))
	for r, row := range rows {
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = cell(v)
		}
		out[r] = strings.Join(parts, ",")
	}
	return strings.Join(out, ";")
}

// Querier is a *sql.DB or a *sql.Conn.
type Querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Query runs q on db and returns its rows as Text does; any error fails t.
func Query(t testing.TB, db Querier, cell Cell, q string, args ...any) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var all [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		all = append(all, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return Text(all, cell)
}
