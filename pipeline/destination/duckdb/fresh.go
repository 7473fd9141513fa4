package duckdb

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Readers of a server share the database a load commits on (shared.go).
// DuckDB (1.5) merges the row groups of a large INSERT into an existing
// table during the COMMIT, visible even to transactions that began before
// it: a reader then sees new rows beside rows the load deletes (a torn
// snapshot). A table the load's transaction creates cannot be seen at all
// by an earlier transaction. So a replaced table is dropped and created
// again from its own definition instead of emptied, and when every staged
// row goes into such a fresh table, readers during the COMMIT read through
// connections whose transactions began before it (dataset.Handles
// .BeginCommit) instead of waiting for its end. A merge that replaces every
// row of its tables (a full refresh of the same builds) does the same.

// fresh notes that table was created by this transaction.
func (c *committer) fresh(table string) {
	if c.created == nil {
		c.created = map[string]bool{}
	}
	c.created[table] = true
}

// existedBefore tells whether table was in the file before this transaction.
func (c *committer) existedBefore(table string) bool {
	return c.columns[table] != nil && !c.created[table]
}

// snapshotSafe tells whether no staged row went into a table that existed
// before this transaction.
func (c *committer) snapshotSafe() bool { return !c.intoExisting }

// recreate drops table and creates it again, empty, from its definition in
// the file (columns added by earlier loads included); deleted is how many
// rows it had. done is false, and nothing changed, when the definition is
// not the plain one this destination writes: the caller empties it then.
func (c *committer) recreate(ctx context.Context, table string) (deleted int64, done bool, err error) {
	if !c.existedBefore(table) {
		return 0, false, nil
	}
	var ddl string
	err = c.tx.QueryRowContext(ctx, `SELECT sql FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name = ?`,
		c.catalog, c.dataset, table).Scan(&ddl)
	if err != nil {
		return 0, false, fmt.Errorf("read the definition of %s: %w", table, err)
	}
	// DuckDB quotes a name only where it must.
	var prefix string
	for _, p := range []string{qualify(c.dataset, table), plainName(c.dataset) + "." + plainName(table)} {
		if strings.HasPrefix(ddl, "CREATE TABLE "+p+"(") {
			prefix = "CREATE TABLE " + p + "("
		}
	}
	if prefix == "" {
		return 0, false, nil
	}
	if err := c.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+c.target(table)).Scan(&deleted); err != nil {
		return 0, false, fmt.Errorf("count %s: %w", table, err)
	}
	if _, err := c.exec(ctx, "DROP TABLE "+c.target(table)); err != nil {
		return 0, false, fmt.Errorf("drop %s: %w", table, err)
	}
	create := "CREATE TABLE " + stage.QuoteIdent(c.catalog) + "." + qualify(c.dataset, table) + "(" + strings.TrimPrefix(ddl, prefix)
	if _, err := c.exec(ctx, create); err != nil {
		return 0, false, fmt.Errorf("create %s again: %w", table, err)
	}
	c.fresh(table)
	return deleted, true, nil
}

var plainRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// plainName is name unquoted when it may be, else quoted.
func plainName(name string) string {
	if plainRe.MatchString(name) {
		return name
	}
	return stage.QuoteIdent(name)
}

// recreateMerged creates the tables of fam again, empty, when the merge
// replaces every row they hold: replaced is the merge's condition on the
// target root (alias r). done is false, and nothing changed, otherwise.
func (c *committer) recreateMerged(ctx context.Context, fam []*normalize.Table, replaced string) (done bool, err error) {
	root := fam[0]
	if !c.existedBefore(root.Name) {
		return false, nil
	}
	// Cheap first: more target roots than staged rows leaves some.
	var have, staged int64
	if err := c.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+c.target(root.Name)).Scan(&have); err != nil {
		return false, fmt.Errorf("count %s: %w", root.Name, err)
	}
	if err := c.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+c.staging(root.Name)).Scan(&staged); err != nil {
		return false, fmt.Errorf("count staged %s: %w", root.Name, err)
	}
	if have > staged {
		return false, nil
	}
	left := []string{fmt.Sprintf("SELECT count(*) FROM %s r WHERE NOT (%s)", c.target(root.Name), replaced)}
	for _, t := range fam[1:] {
		if !c.existedBefore(t.Name) {
			continue
		}
		if !c.columns[t.Name]["_dlt_root_id"] {
			return false, nil
		}
		left = append(left, fmt.Sprintf("SELECT count(*) FROM %s WHERE _dlt_root_id IS NULL OR _dlt_root_id NOT IN (SELECT r._dlt_id FROM %s r WHERE %s)",
			c.target(t.Name), c.target(root.Name), replaced))
	}
	for _, q := range left {
		var n int64
		if err := c.tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return false, fmt.Errorf("count rows the merge keeps: %w", err)
		}
		if n > 0 {
			return false, nil
		}
	}
	for _, t := range fam {
		if !c.existedBefore(t.Name) {
			continue // nothing to empty
		}
		if err := c.empty(ctx, t.Name); err != nil {
			return false, err
		}
	}
	return true, nil
}

// empty removes every row of table, by creating it again where it can
// (recreate), and counts them deleted.
func (c *committer) empty(ctx context.Context, table string) error {
	n, done, err := c.recreate(ctx, table)
	if err != nil {
		return err
	}
	if !done {
		if n, err = c.exec(ctx, "DELETE FROM "+c.target(table)); err != nil {
			return fmt.Errorf("empty %s: %w", table, err)
		}
	}
	c.count(table, 0, n)
	return nil
}
