package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// System tables (their layout is destination.SystemTables).
const (
	loadsTable   = destination.LoadsTable
	stateTable   = destination.StateTable
	versionTable = destination.VersionTable

	// The catalog name the staging file is attached under.
	stageAlias = "cfmcp_stage"
)

// runner is a transaction, or a connection whose statements each commit.
type runner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// committer runs the statements of one commit inside its transaction.
type committer struct {
	tx        runner
	catalog   string // the destination file's catalog
	dataset   string
	pkg       *destination.Package
	staged    bool // the stage is attached
	afterStep func(string)
	stats     *destination.CommitStats

	columns destination.Columns // target table -> its columns

	created      map[string]bool // tables this transaction created (fresh.go)
	intoExisting bool            // staged rows went into a table not created here
}

func (c *committer) run(ctx context.Context) error {
	return c.systemRows().Commit(ctx, c.createTables, c.moveRows, c.afterStep)
}

func (c *committer) systemRows() *destination.SystemRows {
	return &destination.SystemRows{Pkg: c.pkg, Now: time.Now().UTC(), Target: c.target, Exec: c.exec,
		QueryRow: func(ctx context.Context, q string, args ...any) destination.Row {
			return c.tx.QueryRowContext(ctx, q, args...)
		},
		Dataset: c.dataset, Columns: func() destination.Columns { return c.columns }, ViewComments: c.viewComments}
}

// viewComments reads the comments of the views in schema (nil when it is missing).
func (c *committer) viewComments(ctx context.Context, schema string) (map[string]string, error) {
	rows, err := c.tx.QueryContext(ctx, `SELECT coalesce(v.view_name, ''), coalesce(v.comment, '')
		FROM duckdb_schemas() s LEFT JOIN duckdb_views() v ON v.database_name = s.database_name AND v.schema_name = s.schema_name
		WHERE s.database_name = ? AND s.schema_name = ?`, c.catalog, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return destination.ScanViewComments(rows)
}

// target is the fully qualified name of a dataset table.
func (c *committer) target(table string) string {
	return stage.QuoteIdent(c.catalog) + "." + qualify(c.dataset, table)
}

// staging is the fully qualified name of a staging table.
func (c *committer) staging(table string) string {
	return stageAlias + "." + stage.QuoteIdent(c.pkg.Stage.Schema()) + "." + stage.QuoteIdent(table)
}

func qualify(dataset, table string) string {
	return stage.QuoteIdent(dataset) + "." + stage.QuoteIdent(table)
}

func (c *committer) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// createTables makes the dataset, the system tables and the tables and
// columns of the completed resources (schema and stage) that the file lacks.
func (c *committer) createTables(ctx context.Context) error {
	if _, err := c.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+stage.QuoteIdent(c.catalog)+"."+stage.QuoteIdent(c.dataset)); err != nil {
		return fmt.Errorf("create schema %s: %w", c.dataset, err)
	}
	if err := c.readColumns(ctx); err != nil {
		return err
	}
	for _, st := range destination.SystemTables() {
		if c.columns[st.Name] != nil {
			continue
		}
		if err := c.ensureTable(ctx, st.Name, st.Columns); err != nil {
			return err
		}
	}
	tables, err := c.pkg.Creates()
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := c.ensureTable(ctx, t.Name, c.pkg.Columns(t)); err != nil {
			return err
		}
	}
	return nil
}

func (c *committer) readColumns(ctx context.Context) error {
	rows, err := c.tx.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns()
		WHERE database_name = ? AND schema_name = ?`, c.catalog, c.dataset)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	c.columns, err = destination.ScanColumns(rows)
	return err
}

// ensureTable creates the table, or adds the columns it lacks.
func (c *committer) ensureTable(ctx context.Context, name string, cols []*normalize.Column) error {
	if c.columns[name] == nil {
		c.fresh(name)
	}
	return c.columns.Ensure(ctx, c.exec, stage.SQLType, name, c.target(name), cols)
}

// stageColumns are the staged columns of a table; nil when nothing is staged.
func (c *committer) stageColumns(table string) []*normalize.Column {
	if !c.staged {
		return nil
	}
	return c.pkg.Staged(table)
}

// moveRows copies the staged rows of every completed resource into its
// tables by the root table's write disposition (destination.Package.Plan).
func (c *committer) moveRows(ctx context.Context) error {
	return c.pkg.WritePlan(ctx, c.replace, c.append, c.merge)
}

func (c *committer) count(table string, inserted, deleted int64) {
	c.stats.Add(table, inserted, deleted)
}

// insert copies staged rows of table by column name; where filters them
// (alias s). Target columns the stage lacks stay NULL.
func (c *committer) insert(ctx context.Context, table, where string) error {
	cols := c.stageColumns(table)
	if len(cols) == 0 {
		c.count(table, 0, 0)
		return nil
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = stage.QuoteIdent(col.Name)
	}
	list := strings.Join(names, ", ")
	if !c.created[table] {
		c.intoExisting = true
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s s %s", c.target(table), list, list, c.staging(table), where)
	n, err := c.exec(ctx, q)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	c.count(table, n, 0)
	return nil
}

func (c *committer) append(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		if err := c.insert(ctx, t.Name, ""); err != nil {
			return err
		}
	}
	return nil
}

// replace empties the root and its children (creates them again: see
// fresh.go), then inserts the staged rows.
func (c *committer) replace(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		if err := c.empty(ctx, t.Name); err != nil {
			return err
		}
	}
	return c.append(ctx, fam)
}

// merge replaces target roots whose primary key is staged, with their child
// rows, by the last staged row of each key and that row's children.
func (c *committer) merge(ctx context.Context, fam []*normalize.Table, keyNames []string) error {
	root := fam[0]
	keys := make([]string, len(keyNames))
	for i, k := range keyNames {
		keys[i] = stage.QuoteIdent(k)
	}
	if c.stageColumns(root.Name) == nil {
		// No staged roots: nothing is replaced, and orphan children are dropped.
		for _, t := range fam {
			c.count(t.Name, 0, 0)
		}
		return nil
	}
	for _, t := range fam[1:] {
		if !c.columns[t.Name]["_dlt_root_id"] {
			return fmt.Errorf("child table %s has no _dlt_root_id column, needed to merge", t.Name)
		}
	}
	match := make([]string, len(keys))
	for i, k := range keys {
		match[i] = "s." + k + " = r." + k
	}
	// Target roots that a staged row replaces (r is the target root).
	replaced := fmt.Sprintf("EXISTS (SELECT 1 FROM %s s WHERE %s)", c.staging(root.Name), strings.Join(match, " AND "))
	recreated, err := c.recreateMerged(ctx, fam, replaced)
	if err != nil {
		return err
	}
	if !recreated {
		if err := c.deleteReplaced(ctx, fam, replaced); err != nil {
			return err
		}
	}
	// The last staged row of a key wins: appends keep rowid in write order.
	// Grouping the keys alone (not a window over whole rows) keeps memory
	// to the keys, so large loads fit the commit's memory budget.
	lastRowids := fmt.Sprintf("SELECT max(rowid) FROM %s GROUP BY %s", c.staging(root.Name), strings.Join(keys, ", "))
	last := "WHERE s.rowid IN (" + lastRowids + ")"
	if err := c.insert(ctx, root.Name, last); err != nil {
		return err
	}
	survivors := fmt.Sprintf("WHERE s._dlt_root_id IN (SELECT s._dlt_id FROM %s s %s)", c.staging(root.Name), last)
	for _, t := range fam[1:] {
		if err := c.insert(ctx, t.Name, survivors); err != nil {
			return err
		}
	}
	return nil
}

// deleteReplaced deletes the target roots of fam that a staged row replaces
// (replaced, alias r), with their child rows.
func (c *committer) deleteReplaced(ctx context.Context, fam []*normalize.Table, replaced string) error {
	root := fam[0]
	for _, t := range fam[1:] {
		q := fmt.Sprintf("DELETE FROM %s WHERE _dlt_root_id IN (SELECT r._dlt_id FROM %s r WHERE %s)",
			c.target(t.Name), c.target(root.Name), replaced)
		n, err := c.exec(ctx, q)
		if err != nil {
			return fmt.Errorf("delete replaced rows of %s: %w", t.Name, err)
		}
		c.count(t.Name, 0, n)
	}
	n, err := c.exec(ctx, fmt.Sprintf("DELETE FROM %s r WHERE %s", c.target(root.Name), replaced))
	if err != nil {
		return fmt.Errorf("delete replaced rows of %s: %w", root.Name, err)
	}
	c.count(root.Name, 0, n)
	return nil
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
