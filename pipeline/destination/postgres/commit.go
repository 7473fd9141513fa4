package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// maxIdentifier is PostgreSQL's identifier limit in bytes (NAMEDATALEN-1):
// longer names are silently cut, so two could collide.
const maxIdentifier = 63

// seqColumn numbers staged rows in write order in the temporary tables, so
// that the last staged row of a merge key wins as in the other destinations.
const seqColumn = "_cfmcp_seq"

// sqlTypes are the PostgreSQL column types of the normalized data types
// (the DuckDB destination's types under their PostgreSQL names).
var sqlTypes = map[normalize.DataType]string{
	normalize.Bigint:    "bigint",
	normalize.Double:    "double precision",
	normalize.Bool:      "boolean",
	normalize.Timestamp: "timestamptz",
	normalize.Text:      "text",
	normalize.JSON:      "jsonb",
}

// SQLType is the PostgreSQL column type for a normalized data type.
func SQLType(t normalize.DataType) (string, error) { return stage.TypeIn(sqlTypes, t) }

// checkNames refuses names PostgreSQL would cut short.
func checkNames(dataset string, pkg *destination.Package) error {
	long := func(kind, name string) error {
		return fmt.Errorf("%s name %q is %d bytes, longer than PostgreSQL's %d-byte limit", kind, name, len(name), maxIdentifier)
	}
	if len(dataset) > maxIdentifier {
		return long("dataset", dataset)
	}
	for _, t := range pkg.Schema.Tables {
		if len(t.Name) > maxIdentifier {
			return long("table", t.Name)
		}
		for _, c := range pkg.Columns(t) {
			if len(c.Name) > maxIdentifier {
				return long("table "+t.Name+" column", c.Name)
			}
		}
	}
	return nil
}

// committer runs the statements of one commit inside its transaction.
type committer struct {
	conn      *pgx.Conn
	tx        pgx.Tx
	stage     *sql.DB // the staging file, read-only; nil when nothing is staged
	dataset   string
	pkg       *destination.Package
	afterStep func(string)
	stats     *destination.CommitStats
	location  string        // the server, without password, for the lock error
	lockWait  time.Duration // bound on waiting for another load's lock; 0 = none

	columns destination.Columns // target table -> its columns
	temps   int                 // temporary tables made so far
}

func (c *committer) run(ctx context.Context) error {
	sys := &destination.SystemRows{Pkg: c.pkg, Now: time.Now().UTC(), Target: c.target, Exec: c.exec,
		QueryRow: func(ctx context.Context, q string, args ...any) destination.Row {
			return c.tx.QueryRow(ctx, q, args...)
		},
		Dataset: c.dataset, Columns: func() destination.Columns { return c.columns }, ViewComments: c.viewComments}
	return sys.Commit(ctx, c.createTables, c.moveRows, c.afterStep)
}

// viewComments reads the comments of the views in schema (nil when it is missing).
func (c *committer) viewComments(ctx context.Context, schema string) (map[string]string, error) {
	rows, err := c.tx.Query(ctx, `SELECT coalesce(cl.relname, ''), coalesce(obj_description(cl.oid, 'pg_class'), '')
		FROM pg_catalog.pg_namespace n LEFT JOIN pg_catalog.pg_class cl ON cl.relnamespace = n.oid AND cl.relkind = 'v'
		WHERE n.nspname = $1`, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return destination.ScanViewComments(rows)
}

func (c *committer) target(table string) string { return qualify(c.dataset, table) }

func qualify(dataset, table string) string {
	return stage.QuoteIdent(dataset) + "." + stage.QuoteIdent(table)
}

func (c *committer) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// createTables takes the dataset's load lock, then makes the schema, the
// system tables and the tables and columns of the completed resources
// (Package.Creates) the database lacks.
func (c *committer) createTables(ctx context.Context) error {
	// One load at a time per dataset, across processes; released at commit or rollback.
	if err := lockDataset(ctx, c.tx, c.dataset, c.location, c.lockWait); err != nil {
		return err
	}
	var exists bool
	if err := c.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, c.dataset).Scan(&exists); err != nil {
		return fmt.Errorf("look up schema %s: %w", c.dataset, err)
	}
	if !exists {
		if _, err := c.exec(ctx, "CREATE SCHEMA "+stage.QuoteIdent(c.dataset)); err != nil {
			return fmt.Errorf("create schema %s: %w", c.dataset, err)
		}
	}
	if err := c.readColumns(ctx); err != nil {
		return err
	}
	for _, st := range destination.SystemTables() {
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
	rows, err := c.tx.Query(ctx, `SELECT cl.relname, a.attname
		FROM pg_catalog.pg_attribute a
		JOIN pg_catalog.pg_class cl ON cl.oid = a.attrelid
		JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
		WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`, c.dataset)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	c.columns, err = destination.ScanColumns(rows)
	return err
}

// ensureTable creates the table, or adds the columns it lacks.
func (c *committer) ensureTable(ctx context.Context, name string, cols []*normalize.Column) error {
	return c.columns.Ensure(ctx, c.exec, SQLType, name, c.target(name), cols)
}

// stageColumns are the staged columns of a table; nil when nothing is staged.
func (c *committer) stageColumns(table string) []*normalize.Column {
	if c.stage == nil {
		return nil
	}
	return c.pkg.Staged(table)
}

// moveRows writes the staged rows of every completed resource into its
// tables by the root table's write disposition (destination.Package.Plan).
func (c *committer) moveRows(ctx context.Context) error {
	return c.pkg.WritePlan(ctx, c.replace, c.append, c.merge)
}

// append copies the staged rows of each table straight into it: inside the
// transaction COPY is as atomic as INSERT, and a staging copy would only
// double the work.
func (c *committer) append(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		cols := c.stageColumns(t.Name)
		if len(cols) == 0 {
			c.stats.Add(t.Name, 0, 0)
			continue
		}
		n, err := c.copyStaged(ctx, pgx.Identifier{c.dataset, t.Name}, t.Name, cols, false)
		if err != nil {
			return fmt.Errorf("copy into %s: %w", t.Name, err)
		}
		c.stats.Add(t.Name, n, 0)
	}
	return nil
}

// replace empties the root and its children, then copies the staged rows.
// DELETE rather than TRUNCATE: readers keep seeing the old rows until the
// commit, instead of waiting on TRUNCATE's exclusive lock.
func (c *committer) replace(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		n, err := c.exec(ctx, "DELETE FROM "+c.target(t.Name))
		if err != nil {
			return fmt.Errorf("empty %s: %w", t.Name, err)
		}
		c.stats.Add(t.Name, 0, n)
	}
	return c.append(ctx, fam)
}

// merge replaces target roots whose primary key is staged, with their child
// rows, by the last staged row of each key and that row's children. The
// staged rows go to temporary tables first (dropped at commit), numbered in
// write order.
func (c *committer) merge(ctx context.Context, fam []*normalize.Table, keyNames []string) error {
	root := fam[0]
	if c.stageColumns(root.Name) == nil {
		// No staged roots: nothing is replaced, and orphan children are dropped.
		for _, t := range fam {
			c.stats.Add(t.Name, 0, 0)
		}
		return nil
	}
	for _, t := range fam[1:] {
		if !c.columns[t.Name]["_dlt_root_id"] {
			return fmt.Errorf("child table %s has no _dlt_root_id column, needed to merge", t.Name)
		}
	}
	temp := map[string]string{}
	for _, t := range fam {
		if cols := c.stageColumns(t.Name); cols != nil {
			name, err := c.stageToTemp(ctx, t.Name, cols)
			if err != nil {
				return err
			}
			temp[t.Name] = name
		}
	}
	keys := make([]string, len(keyNames))
	match := make([]string, len(keyNames))
	for i, k := range keyNames {
		keys[i] = stage.QuoteIdent(k)
		match[i] = "s." + keys[i] + " = r." + keys[i]
	}
	// The last staged row of each key, by write order.
	last := c.tempName()
	q := fmt.Sprintf("CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT DISTINCT ON (%s) * FROM %s ORDER BY %s, %s DESC",
		last, strings.Join(keys, ", "), temp[root.Name], strings.Join(keys, ", "), seqColumn)
	if _, err := c.exec(ctx, q); err != nil {
		return fmt.Errorf("pick the last staged row of each key of %s: %w", root.Name, err)
	}
	if _, err := c.exec(ctx, "ANALYZE "+last); err != nil {
		return fmt.Errorf("analyze %s: %w", root.Name, err)
	}
	// Target roots that a staged row replaces (r is the target root).
	replaced := fmt.Sprintf("EXISTS (SELECT 1 FROM %s s WHERE %s)", last, strings.Join(match, " AND "))
	for _, t := range fam[1:] {
		q := fmt.Sprintf("DELETE FROM %s WHERE _dlt_root_id IN (SELECT r._dlt_id FROM %s r WHERE %s)",
			c.target(t.Name), c.target(root.Name), replaced)
		n, err := c.exec(ctx, q)
		if err != nil {
			return fmt.Errorf("delete replaced rows of %s: %w", t.Name, err)
		}
		c.stats.Add(t.Name, 0, n)
	}
	n, err := c.exec(ctx, fmt.Sprintf("DELETE FROM %s r WHERE %s", c.target(root.Name), replaced))
	if err != nil {
		return fmt.Errorf("delete replaced rows of %s: %w", root.Name, err)
	}
	c.stats.Add(root.Name, 0, n)
	if err := c.insert(ctx, root.Name, last, ""); err != nil {
		return err
	}
	for _, t := range fam[1:] {
		if temp[t.Name] == "" {
			c.stats.Add(t.Name, 0, 0)
			continue
		}
		survivors := fmt.Sprintf("WHERE s._dlt_root_id IN (SELECT _dlt_id FROM %s)", last)
		if err := c.insert(ctx, t.Name, temp[t.Name], survivors); err != nil {
			return err
		}
	}
	return nil
}

// insert copies a temporary table's rows (alias s) into table by the staged
// column names; target columns the stage lacks stay NULL.
func (c *committer) insert(ctx context.Context, table, from, where string) error {
	cols := c.stageColumns(table)
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = stage.QuoteIdent(col.Name)
	}
	list := strings.Join(names, ", ")
	n, err := c.exec(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s s %s", c.target(table), list, list, from, where))
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	c.stats.Add(table, n, 0)
	return nil
}

func (c *committer) tempName() string {
	c.temps++
	return fmt.Sprintf("cfmcp_stage_%d", c.temps)
}

// stageToTemp copies a staging table into a new temporary table with the
// staged columns and their write order; the planner learns its size.
func (c *committer) stageToTemp(ctx context.Context, table string, cols []*normalize.Column) (string, error) {
	name := c.tempName()
	defs := make([]string, 0, len(cols)+1)
	for _, col := range cols {
		typ, err := SQLType(col.DataType)
		if err != nil {
			return "", fmt.Errorf("table %s column %s: %w", table, col.Name, err)
		}
		defs = append(defs, stage.QuoteIdent(col.Name)+" "+typ)
	}
	defs = append(defs, seqColumn+" bigint NOT NULL")
	if _, err := c.exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (%s) ON COMMIT DROP", name, strings.Join(defs, ", "))); err != nil {
		return "", fmt.Errorf("create temporary table for %s: %w", table, err)
	}
	if _, err := c.copyStaged(ctx, pgx.Identifier{name}, table, cols, true); err != nil {
		return "", fmt.Errorf("copy staged %s: %w", table, err)
	}
	if _, err := c.exec(ctx, "ANALYZE "+name); err != nil {
		return "", fmt.Errorf("analyze staged %s: %w", table, err)
	}
	return name, nil
}

// copyStaged streams a staging table into dst with COPY; withSeq adds the
// staged row number as the last column.
func (c *committer) copyStaged(ctx context.Context, dst pgx.Identifier, table string, cols []*normalize.Column, withSeq bool) (int64, error) {
	sel := make([]string, 0, len(cols)+1)
	names := make([]string, 0, len(cols)+1)
	for _, col := range cols {
		expr := stage.QuoteIdent(col.Name)
		if col.DataType == normalize.JSON {
			// As text, which pgx sends to jsonb unchanged.
			expr = "CAST(" + expr + " AS VARCHAR)"
		}
		sel = append(sel, expr)
		names = append(names, col.Name)
	}
	if withSeq {
		sel = append(sel, "rowid")
		names = append(names, seqColumn)
	}
	rows, err := c.stage.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(sel, ", "), stage.QuoteIdent(c.pkg.Stage.Schema()), stage.QuoteIdent(table)))
	if err != nil {
		return 0, fmt.Errorf("read stage: %w", err)
	}
	defer rows.Close()
	src := newRowSource(rows, len(sel))
	n, err := c.tx.CopyFrom(ctx, dst, names, src)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// rowSource feeds database/sql rows to pgx's CopyFrom.
type rowSource struct {
	rows *sql.Rows
	vals []any
	ptrs []any
	err  error
}

func newRowSource(rows *sql.Rows, n int) *rowSource {
	s := &rowSource{rows: rows, vals: make([]any, n), ptrs: make([]any, n)}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s
}

func (s *rowSource) Next() bool {
	if !s.rows.Next() {
		s.err = s.rows.Err()
		return false
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return false
	}
	return true
}

func (s *rowSource) Values() ([]any, error) { return s.vals, nil }
func (s *rowSource) Err() error             { return s.err }
