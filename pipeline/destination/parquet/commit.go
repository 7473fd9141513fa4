package parquet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

const (
	// stageAlias is the catalog name the staging file is attached under.
	stageAlias = "cfmcp_stage"
	// commitMemoryMB is DuckDB's memory budget while writing a load's files.
	commitMemoryMB = 256
)

// errCrash stops a commit where a test's crashAt says, leaving the folder
// as a killed process would.
var errCrash = errors.New("simulated crash")

// column is a column of a file to write: its name and DuckDB type.
type column struct{ name, typ string }

// newFile is a file this commit writes: under tmp until the rename phase.
type newFile struct {
	table, tmp, final string
}

type committer struct {
	dir     string
	pkg     *destination.Package
	log     *slog.Logger
	crashAt func(string) bool
	stats   *destination.CommitStats

	conn       *sql.Conn
	layout     *Layout
	existing   map[string][]column // table -> columns of its committed files
	written    []newFile
	superseded []string // absolute paths of files the commit replaces
	rowGroup   int      // rows per row group, when the stage had large rows (0: DuckDB's)
	madeDirs   []string
	now        time.Time
	temps      int
}

func (c *committer) crash(step string) bool {
	return c.crashAt != nil && c.crashAt(step)
}

func (c *committer) run(ctx context.Context) (err error) {
	c.now = time.Now().UTC()
	if c.layout, err = Scan(filepath.Dir(c.dir), filepath.Base(c.dir)); err != nil {
		return err
	}
	if c.layout.Loads[c.pkg.LoadID] {
		return fmt.Errorf("load %s is already committed in %s", c.pkg.LoadID, c.dir)
	}
	c.existing = map[string][]column{}
	committed := false
	defer func() {
		if err != nil && !errors.Is(err, errCrash) && !committed {
			c.undo()
		}
	}()
	if err := c.write(ctx); err != nil {
		return err
	}
	if c.crash("written") {
		return errCrash
	}
	for _, f := range c.written {
		if err := syncFile(f.tmp); err != nil {
			return err
		}
	}
	if err := c.writeJournal(); err != nil {
		return err
	}
	if c.crash("journal") {
		return errCrash
	}
	// The _dlt_loads file was written last and is renamed last: the commit point.
	data, mark := c.written[:len(c.written)-1], c.written[len(c.written)-1]
	if mark.table != destination.LoadsTable {
		return fmt.Errorf("internal: the last file of a load is %s, not %s", mark.table, destination.LoadsTable)
	}
	dirs := map[string]bool{}
	for _, f := range data {
		if err := os.Rename(f.tmp, f.final); err != nil {
			return fmt.Errorf("rename %s: %w", f.final, err)
		}
		dirs[filepath.Dir(f.final)] = true
		if c.crash("renamed " + f.table) {
			return errCrash
		}
	}
	for d := range dirs {
		syncDir(d)
	}
	if err := os.Rename(mark.tmp, mark.final); err != nil {
		return fmt.Errorf("rename %s: %w", mark.final, err)
	}
	committed = true
	syncDir(filepath.Dir(mark.final))
	if c.crash("committed") {
		return errCrash
	}
	// Committed: what follows only tidies up, and a failure is left to the
	// journal (readers skip superseded files; the next commit removes them).
	for _, path := range c.superseded {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("could not remove a superseded file; the next load will", "path", path, "err", err)
			return nil
		}
	}
	if c.crash("deleted") {
		return errCrash
	}
	if err := os.Remove(filepath.Join(c.dir, journalName)); err != nil {
		c.log.Warn("could not remove the commit journal; the next load will", "err", err)
	}
	return nil
}

// write makes every file of the load under its temporary name.
func (c *committer) write(ctx context.Context) error {
	// A bounded budget makes DuckDB spill a large merge to a private temp
	// folder instead of holding the whole table in memory.
	spill, err := os.MkdirTemp("", "cfmcp-parquet-")
	if err != nil {
		return fmt.Errorf("temp folder: %w", err)
	}
	defer os.RemoveAll(spill)
	// Large rows (the stage needed more memory for them): DuckDB moves rows
	// 2048 at a time; the scan decompressing the stage's strings, the
	// buffered row group and the one being written each hold such a chunk,
	// some twice: five of them more, on one thread (three ran out once the
	// stage compressed long strings).
	memoryMB := commitMemoryMB
	opts := []string{"temp_directory=" + url.QueryEscape(spill)}
	if largest := c.pkg.Stage.LargestRow(); largest > 0 {
		memoryMB += 5 * 2048 * largest / 1_000_000
		c.rowGroup = 2048
		opts = append(opts, "threads=1", "preserve_insertion_order=false")
	}
	db, err := duckfile.Open(ctx, "", false, 0, append(opts, fmt.Sprintf("memory_limit=%dMB", memoryMB))...)
	if err != nil {
		return err
	}
	defer db.Close()
	// ATTACH and temporary tables belong to one connection.
	if c.conn, err = db.Conn(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.conn.Close()
	if c.pkg.Stage != nil && len(c.pkg.Stage.Tables()) > 0 {
		if _, err := c.conn.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", quoteString(c.pkg.Stage.Path()), stageAlias)); err != nil {
			return fmt.Errorf("attach stage: %w", err)
		}
		defer c.conn.ExecContext(context.Background(), "DETACH "+stageAlias)
	}
	for _, step := range []func(context.Context) error{c.moveRows, c.cover, c.writeVersion, c.writeState, c.writeLoad} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// moveRows writes the staged rows of every completed resource by the root
// table's write disposition (destination.Package.Plan).
func (c *committer) moveRows(ctx context.Context) error {
	return c.pkg.WritePlan(ctx, c.replace, c.append, c.merge)
}

func (c *committer) append(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		if c.pkg.Staged(t.Name) == nil {
			c.stats.Add(t.Name, 0, 0)
			continue
		}
		cols, err := c.columns(ctx, t)
		if err != nil {
			return err
		}
		n, err := c.copyTo(ctx, t.Name, c.stagedSelect(t.Name, cols, ""))
		if err != nil {
			return err
		}
		c.stats.Add(t.Name, n, 0)
	}
	return nil
}

// replace writes each table's staged rows (or none) as its new only file.
func (c *committer) replace(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		cols, err := c.columns(ctx, t)
		if err != nil {
			return err
		}
		old := c.layout.Tables[t.Name]
		deleted, err := c.count(ctx, "SELECT count(*) FROM "+readFiles(old))
		if err != nil {
			return fmt.Errorf("count rows of %s: %w", t.Name, err)
		}
		sel := emptySelect(cols)
		if c.pkg.Staged(t.Name) != nil {
			sel = c.stagedSelect(t.Name, cols, "")
		}
		n, err := c.copyTo(ctx, t.Name, sel)
		if err != nil {
			return err
		}
		c.superseded = append(c.superseded, old...)
		c.stats.Add(t.Name, n, deleted)
	}
	return nil
}

// merge replaces stored roots whose primary key is staged, with their
// child rows, by the last staged row of each key and that row's children.
// A table none of whose rows is replaced gets a file of its new rows; one
// that loses rows is rewritten into one file.
func (c *committer) merge(ctx context.Context, fam []*normalize.Table, keys []string) error {
	root := fam[0]
	if c.pkg.Staged(root.Name) == nil {
		// No staged roots: nothing is replaced, and orphan children are dropped.
		for _, t := range fam {
			c.stats.Add(t.Name, 0, 0)
		}
		return nil
	}
	famCols := map[string][]column{}
	for _, t := range fam {
		cols, err := c.columns(ctx, t)
		if err != nil {
			return err
		}
		if t != root && !slices.ContainsFunc(cols, func(x column) bool { return x.name == "_dlt_root_id" }) {
			return fmt.Errorf("child table %s has no _dlt_root_id column, needed to merge", t.Name)
		}
		famCols[t.Name] = cols
	}
	quoted := make([]string, len(keys))
	match := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = "s." + stage.QuoteIdent(k)
		match[i] = "s." + stage.QuoteIdent(k) + " = r." + stage.QuoteIdent(k)
	}
	// The last staged row of each key, by write order: its rowid, picked
	// over the keys alone, and the row read from the stage where used. A
	// temporary table of whole rows ran out of the commit's memory on builds
	// with a large pipeline YAML.
	lastIDs := c.tempName()
	q := fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT max(s.rowid) AS rid FROM %s s GROUP BY %s",
		lastIDs, c.stagedTable(root.Name), strings.Join(quoted, ", "))
	if _, err := c.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("pick the last staged row of each key of %s: %w", root.Name, err)
	}
	last := "(" + c.stagedSelect(root.Name, famCols[root.Name], "WHERE s.rowid IN (SELECT rid FROM "+lastIDs+")") + ")"
	// Stored roots that a staged row replaces.
	replaced := c.tempName()
	oldRoot := c.layout.Tables[root.Name]
	q = fmt.Sprintf("CREATE TEMP TABLE %s AS SELECT r._dlt_id FROM %s r WHERE EXISTS (SELECT 1 FROM %s s WHERE %s)",
		replaced, readFiles(oldRoot), last, strings.Join(match, " AND "))
	if len(oldRoot) == 0 {
		q = fmt.Sprintf("CREATE TEMP TABLE %s (_dlt_id VARCHAR)", replaced)
	}
	if _, err := c.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("find replaced rows of %s: %w", root.Name, err)
	}
	nReplaced, err := c.count(ctx, "SELECT count(*) FROM "+replaced)
	if err != nil {
		return err
	}
	inserted, err := c.count(ctx, "SELECT count(*) FROM "+lastIDs)
	if err != nil {
		return err
	}
	newRows := "SELECT * FROM " + last
	kept := fmt.Sprintf("SELECT %s FROM %s r WHERE NOT EXISTS (SELECT 1 FROM %s s WHERE %s)",
		c.storedList(root.Name, famCols[root.Name]), readFiles(oldRoot), last, strings.Join(match, " AND "))
	if err := c.rewrite(ctx, root.Name, newRows, kept, inserted, nReplaced); err != nil {
		return err
	}
	for _, t := range fam[1:] {
		cols := famCols[t.Name]
		newRows, inserted := emptySelect(cols), int64(0)
		if c.pkg.Staged(t.Name) != nil {
			survivors := c.tempName()
			q := fmt.Sprintf("CREATE TEMP TABLE %s AS %s WHERE s._dlt_root_id IN (SELECT _dlt_id FROM %s)",
				survivors, c.stagedSelect(t.Name, cols, ""), last)
			if _, err := c.conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("staged rows of %s: %w", t.Name, err)
			}
			if inserted, err = c.count(ctx, "SELECT count(*) FROM "+survivors); err != nil {
				return err
			}
			newRows = "SELECT * FROM " + survivors
		}
		old := c.layout.Tables[t.Name]
		var deleted int64
		if nReplaced > 0 && len(old) > 0 {
			q := fmt.Sprintf("SELECT count(*) FROM %s r WHERE r._dlt_root_id IN (SELECT _dlt_id FROM %s)", readFiles(old), replaced)
			if deleted, err = c.count(ctx, q); err != nil {
				return fmt.Errorf("count replaced rows of %s: %w", t.Name, err)
			}
		}
		kept := fmt.Sprintf("SELECT %s FROM %s r WHERE NOT EXISTS (SELECT 1 FROM %s x WHERE x._dlt_id = r._dlt_root_id)",
			c.storedList(t.Name, cols), readFiles(old), replaced)
		if err := c.rewrite(ctx, t.Name, newRows, kept, inserted, deleted); err != nil {
			return err
		}
	}
	return nil
}

// rewrite writes a merged table: when no stored row goes, a file of the
// new rows (none when there are none); else one file of the kept and the
// new rows, superseding every stored file.
func (c *committer) rewrite(ctx context.Context, table, newRows, kept string, inserted, deleted int64) error {
	if deleted == 0 {
		if inserted > 0 {
			if _, err := c.copyTo(ctx, table, newRows); err != nil {
				return err
			}
		}
		c.stats.Add(table, inserted, 0)
		return nil
	}
	if _, err := c.copyTo(ctx, table, kept+" UNION ALL "+newRows); err != nil {
		return err
	}
	c.superseded = append(c.superseded, c.layout.Tables[table]...)
	c.stats.Add(table, inserted, deleted)
	return nil
}

// cover gives every table of a completed resource (Package.Creates) a
// file, and the newest of its columns: a table with no rows yet, or one that
// gained a column this load without new rows, gets an empty file, as the
// other destinations create the table or add the column.
func (c *committer) cover(ctx context.Context) error {
	tables, err := c.pkg.Creates()
	if err != nil {
		return err
	}
	for _, t := range tables {
		if c.wrote(t.Name) {
			continue
		}
		cols, err := c.columns(ctx, t)
		if err != nil {
			return err
		}
		if len(c.layout.Tables[t.Name]) > 0 && len(c.existing[t.Name]) == len(cols) {
			continue
		}
		if _, err := c.copyTo(ctx, t.Name, emptySelect(cols)); err != nil {
			return err
		}
	}
	return nil
}

func (c *committer) wrote(table string) bool {
	return slices.ContainsFunc(c.written, func(f newFile) bool { return f.table == table })
}

// columns are the columns a table's new file has: its committed files'
// columns, then the package's (schema and staged) that they lack. Every
// column takes the schema's type; one only in the files keeps its type.
func (c *committer) columns(ctx context.Context, t *normalize.Table) ([]column, error) {
	have, err := c.storedColumns(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	var order []string
	for _, col := range have {
		types[col.name] = col.typ
		order = append(order, col.name)
	}
	for _, col := range c.pkg.Columns(t) {
		typ, err := stage.SQLType(col.DataType)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", t.Name, col.Name, err)
		}
		if _, ok := types[col.Name]; !ok {
			order = append(order, col.Name)
		}
		types[col.Name] = typ
	}
	out := make([]column, len(order))
	for i, name := range order {
		out[i] = column{name, types[name]}
	}
	return out, nil
}

// storedColumns are the columns of a table's committed files, in order.
func (c *committer) storedColumns(ctx context.Context, table string) ([]column, error) {
	if cols, ok := c.existing[table]; ok {
		return cols, nil
	}
	files := c.layout.Tables[table]
	if len(files) == 0 {
		c.existing[table] = nil
		return nil, nil
	}
	rows, err := c.conn.QueryContext(ctx, "DESCRIBE SELECT * FROM "+readFiles(files))
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var cols []column
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read columns of %s: %w", table, err)
		}
		cols = append(cols, column{fmt.Sprint(vals[0]), fmt.Sprint(vals[1])})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	c.existing[table] = cols
	return cols, nil
}

// stagedSelect selects a staging table's rows (alias s) as cols: staged
// columns cast to their type, the others NULL. where may filter.
func (c *committer) stagedSelect(table string, cols []column, where string) string {
	staged := map[string]bool{}
	for _, sc := range c.pkg.Staged(table) {
		staged[sc.Name] = true
	}
	return fmt.Sprintf("SELECT %s FROM %s s %s", castList("s", cols, staged), c.stagedTable(table), where)
}

// rowGroupOption is the COPY option for row groups of c.rowGroup rows, if
// set.
func (c *committer) rowGroupOption() string {
	if c.rowGroup == 0 {
		return ""
	}
	return fmt.Sprintf(", ROW_GROUP_SIZE %d", c.rowGroup)
}

// stagedTable is a table of the stage, qualified.
func (c *committer) stagedTable(table string) string {
	return stageAlias + "." + stage.QuoteIdent(c.pkg.Stage.Schema()) + "." + stage.QuoteIdent(table)
}

// storedList selects a table's committed rows (alias r) as cols.
func (c *committer) storedList(table string, cols []column) string {
	have := map[string]bool{}
	for _, col := range c.existing[table] {
		have[col.name] = true
	}
	return castList("r", cols, have)
}

// castList selects cols from alias, each cast to its type; a column
// outside have is NULL.
func castList(alias string, cols []column, have map[string]bool) string {
	list := make([]string, len(cols))
	for i, col := range cols {
		src := "NULL"
		if have[col.name] {
			src = alias + "." + stage.QuoteIdent(col.name)
		}
		list[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", src, col.typ, stage.QuoteIdent(col.name))
	}
	return strings.Join(list, ", ")
}

// emptySelect selects no rows with cols, for a file that only holds columns.
func emptySelect(cols []column) string {
	list := make([]string, len(cols))
	for i, col := range cols {
		list[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", col.typ, stage.QuoteIdent(col.name))
	}
	return "SELECT " + strings.Join(list, ", ") + " LIMIT 0"
}

// readFiles reads committed files by column name; no files reads nothing.
func readFiles(files []string) string {
	if len(files) == 0 {
		return "(SELECT NULL AS _dlt_id, NULL AS _dlt_root_id LIMIT 0)"
	}
	return "read_parquet(" + fileList(files) + ", union_by_name = true)"
}

func (c *committer) count(ctx context.Context, q string) (int64, error) {
	var n int64
	if err := c.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

func (c *committer) tempName() string {
	c.temps++
	return fmt.Sprintf("cfmcp_tmp_%d", c.temps)
}

// copyTo writes the rows of query as the table's file of this load, under
// its temporary name, and returns how many rows it holds.
func (c *committer) copyTo(ctx context.Context, table, query string) (int64, error) {
	if c.wrote(table) {
		return 0, fmt.Errorf("table %s is written twice in one load", table)
	}
	dir := filepath.Join(c.dir, table)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return 0, fmt.Errorf("create %s: %w", dir, err)
		}
		c.madeDirs = append(c.madeDirs, dir)
	}
	f := newFile{table: table, tmp: filepath.Join(dir, c.pkg.LoadID+tmpExt), final: filepath.Join(dir, c.pkg.LoadID+fileExt)}
	if _, err := os.Stat(f.final); err == nil {
		return 0, fmt.Errorf("%s already exists", f.final)
	}
	c.written = append(c.written, f)
	res, err := c.conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd%s)", query, quoteString(f.tmp), c.rowGroupOption()))
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", table, err)
	}
	return n, nil
}
