package duckdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// System tables, named and laid out as dlt lays them out
// (dlt/common/schema/utils.py: version_table, loads_table, pipeline_state_table).
const (
	loadsTable   = "_dlt_loads"
	stateTable   = "_dlt_pipeline_state"
	versionTable = "_dlt_version"

	// The catalog name the staging file is attached under.
	stageAlias = "cfmcp_stage"

	// Format versions of what we write to _dlt_version.schema and
	// _dlt_pipeline_state.state (our JSON layouts, not dlt's engines).
	schemaEngineVersion = 1
	stateEngineVersion  = 1

	// loadStatusDone is dlt's status of a completed load.
	loadStatusDone = 0
)

var systemTables = []struct{ name, columns string }{
	{loadsTable, `load_id VARCHAR NOT NULL, schema_name VARCHAR, status BIGINT NOT NULL,
		inserted_at TIMESTAMPTZ NOT NULL, schema_version_hash VARCHAR`},
	{stateTable, `version BIGINT NOT NULL, engine_version BIGINT NOT NULL, pipeline_name VARCHAR NOT NULL,
		state VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL, version_hash VARCHAR,
		_dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL`},
	{versionTable, `version BIGINT NOT NULL, engine_version BIGINT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL,
		schema_name VARCHAR NOT NULL, version_hash VARCHAR NOT NULL, "schema" VARCHAR NOT NULL`},
}

// committer runs the statements of one commit inside its transaction.
type committer struct {
	tx        *sql.Tx
	catalog   string // the destination file's catalog
	dataset   string
	pkg       *destination.Package
	staged    bool // the stage is attached
	afterStep func(string)
	stats     *destination.CommitStats

	tables  map[string]*normalize.Table
	columns map[string]map[string]bool // target table -> its columns
	now     time.Time
}

func (c *committer) run(ctx context.Context) error {
	c.now = time.Now().UTC()
	c.tables = map[string]*normalize.Table{}
	for _, t := range c.pkg.Schema.Tables {
		c.tables[t.Name] = t
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"tables", c.createTables},
		{"rows", c.moveRows},
		{"version", c.writeVersion},
		{"state", c.writeState},
		{"loads", c.writeLoad},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return err
		}
		if c.afterStep != nil {
			c.afterStep(s.name)
		}
	}
	return nil
}

// target is the fully qualified name of a dataset table.
func (c *committer) target(table string) string {
	return stage.QuoteIdent(c.catalog) + "." + qualify(c.dataset, table)
}

// staging is the fully qualified name of a staging table.
func staging(table string) string {
	return stageAlias + ".main." + stage.QuoteIdent(table)
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

// createTables makes the dataset, the system tables and every table and
// column of the schema (and of the stage) that the file lacks.
func (c *committer) createTables(ctx context.Context) error {
	if _, err := c.exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+stage.QuoteIdent(c.catalog)+"."+stage.QuoteIdent(c.dataset)); err != nil {
		return fmt.Errorf("create schema %s: %w", c.dataset, err)
	}
	if err := c.readColumns(ctx); err != nil {
		return err
	}
	for _, st := range systemTables {
		if c.columns[st.name] != nil {
			continue
		}
		if _, err := c.exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", c.target(st.name), st.columns)); err != nil {
			return fmt.Errorf("create table %s: %w", st.name, err)
		}
	}
	if c.staged {
		for _, name := range c.pkg.Stage.Tables() {
			if c.tables[name] == nil {
				return fmt.Errorf("staged table %s is not in schema %s", name, c.pkg.Schema.Name)
			}
		}
	}
	for _, t := range c.pkg.Schema.Tables {
		cols := t.Columns
		// A staged column the schema does not list still needs a home.
		for _, sc := range c.stageColumns(t.Name) {
			if !slices.ContainsFunc(cols, func(x *normalize.Column) bool { return x.Name == sc.Name }) {
				cols = append(slices.Clip(cols), sc)
			}
		}
		if err := c.ensureTable(ctx, t.Name, cols); err != nil {
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
	c.columns = map[string]map[string]bool{}
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return fmt.Errorf("read columns: %w", err)
		}
		if c.columns[table] == nil {
			c.columns[table] = map[string]bool{}
		}
		c.columns[table][column] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	return nil
}

// ensureTable creates the table, or adds the columns it lacks. NOT NULL is
// set only at creation, as rows already there would have no value.
func (c *committer) ensureTable(ctx context.Context, name string, cols []*normalize.Column) error {
	have := c.columns[name]
	if have == nil {
		defs := make([]string, 0, len(cols))
		for _, col := range cols {
			typ, err := stage.SQLType(col.DataType)
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
		if _, err := c.exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", c.target(name), strings.Join(defs, ", "))); err != nil {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		have = map[string]bool{}
		for _, col := range cols {
			have[col.Name] = true
		}
		c.columns[name] = have
		return nil
	}
	for _, col := range cols {
		if have[col.Name] {
			continue
		}
		typ, err := stage.SQLType(col.DataType)
		if err != nil {
			return fmt.Errorf("table %s column %s: %w", name, col.Name, err)
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.target(name), stage.QuoteIdent(col.Name), typ)
		if _, err := c.exec(ctx, q); err != nil {
			return fmt.Errorf("table %s: add column %s: %w", name, col.Name, err)
		}
		have[col.Name] = true
	}
	return nil
}

// stageColumns are the staged columns of a table; nil when nothing is staged.
func (c *committer) stageColumns(table string) []*normalize.Column {
	if !c.staged {
		return nil
	}
	return c.pkg.Stage.Columns(table)
}

// family is a root table and its descendants, parents before children.
func (c *committer) family(root string) []*normalize.Table {
	in := map[string]bool{root: true}
	var out []*normalize.Table
	for _, t := range c.pkg.Schema.Tables {
		if t.Name == root || (t.Parent != "" && in[t.Parent]) {
			in[t.Name] = true
			out = append(out, t)
		}
	}
	return out
}

// moveRows copies the staged rows of every completed resource into its
// tables by the root table's write disposition. Staged rows of resources not
// in pkg.Resources (extraction did not complete) are left out.
func (c *committer) moveRows(ctx context.Context) error {
	seen := map[string]bool{}
	for _, root := range c.pkg.Resources {
		if seen[root] {
			continue
		}
		seen[root] = true
		t := c.tables[root]
		if t == nil {
			// Nothing was ever extracted for it, so there is nothing to replace.
			continue
		}
		if t.Parent != "" {
			return fmt.Errorf("resource %s: table is a child of %s, not a root", root, t.Parent)
		}
		fam := c.family(root)
		var err error
		switch t.WriteDisposition {
		case "replace":
			err = c.replace(ctx, fam)
		case "append", "":
			err = c.append(ctx, fam)
		case "merge":
			err = c.merge(ctx, fam)
		default:
			err = fmt.Errorf("unknown write disposition %q", t.WriteDisposition)
		}
		if err != nil {
			return fmt.Errorf("resource %s (%s): %w", root, t.WriteDisposition, err)
		}
	}
	return nil
}

func (c *committer) count(table string, inserted, deleted int64) {
	s := c.stats.Tables[table]
	s.Inserted += inserted
	s.Deleted += deleted
	c.stats.Tables[table] = s
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
	q := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s s %s", c.target(table), list, list, staging(table), where)
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

// replace empties the root and its children, then inserts the staged rows.
func (c *committer) replace(ctx context.Context, fam []*normalize.Table) error {
	for _, t := range fam {
		n, err := c.exec(ctx, "DELETE FROM "+c.target(t.Name))
		if err != nil {
			return fmt.Errorf("empty %s: %w", t.Name, err)
		}
		c.count(t.Name, 0, n)
	}
	return c.append(ctx, fam)
}

// merge replaces target roots whose primary key is staged, with their child
// rows, by the last staged row of each key and that row's children.
func (c *committer) merge(ctx context.Context, fam []*normalize.Table) error {
	root := fam[0]
	var keys []string
	for _, col := range root.Columns {
		if col.PrimaryKey {
			keys = append(keys, stage.QuoteIdent(col.Name))
		}
	}
	if len(keys) == 0 {
		// dlt appends when a merge table has no key.
		return c.append(ctx, fam)
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
	replaced := fmt.Sprintf("EXISTS (SELECT 1 FROM %s s WHERE %s)", staging(root.Name), strings.Join(match, " AND "))
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
	// The last staged row of a key wins: appends keep rowid in write order.
	last := fmt.Sprintf("QUALIFY row_number() OVER (PARTITION BY %s ORDER BY s.rowid DESC) = 1", strings.Join(keys, ", "))
	if err := c.insert(ctx, root.Name, last); err != nil {
		return err
	}
	survivors := fmt.Sprintf("WHERE s._dlt_root_id IN (SELECT s._dlt_id FROM %s s %s)", staging(root.Name), last)
	for _, t := range fam[1:] {
		if err := c.insert(ctx, t.Name, survivors); err != nil {
			return err
		}
	}
	return nil
}

// writeVersion records the schema when its hash is new, as dlt does.
func (c *committer) writeVersion(ctx context.Context) error {
	s := c.pkg.Schema
	hash, err := schemaHash(s)
	if err != nil {
		return err
	}
	var n int
	q := fmt.Sprintf("SELECT count(*) FROM %s WHERE schema_name = ? AND version_hash = ?", c.target(versionTable))
	if err := c.tx.QueryRowContext(ctx, q, s.Name, hash).Scan(&n); err != nil {
		return fmt.Errorf("read %s: %w", versionTable, err)
	}
	if n > 0 {
		return nil
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	q = fmt.Sprintf(`INSERT INTO %s (version, engine_version, inserted_at, schema_name, version_hash, "schema")
		VALUES (?, ?, ?, ?, ?, ?)`, c.target(versionTable))
	if _, err := c.exec(ctx, q, int64(s.Version), int64(schemaEngineVersion), c.now, s.Name, hash, string(doc)); err != nil {
		return fmt.Errorf("write %s: %w", versionTable, err)
	}
	return nil
}

// writeState records the pipeline state when it changed, with a version one
// above the last. dlt reads plain JSON state too (decompress_state falls back).
func (c *committer) writeState(ctx context.Context) error {
	raw := c.pkg.State
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if !json.Valid(raw) {
		return errors.New("pipeline state is not valid JSON")
	}
	sum := sha256.Sum256(raw)
	hash := base64.StdEncoding.EncodeToString(sum[:])
	var (
		version  int64
		lastHash sql.NullString
	)
	q := fmt.Sprintf("SELECT version, version_hash FROM %s WHERE pipeline_name = ? ORDER BY version DESC LIMIT 1", c.target(stateTable))
	err := c.tx.QueryRowContext(ctx, q, c.pkg.PipelineName).Scan(&version, &lastHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read %s: %w", stateTable, err)
	}
	if lastHash.Valid && lastHash.String == hash {
		return nil
	}
	q = fmt.Sprintf(`INSERT INTO %s (version, engine_version, pipeline_name, state, created_at, version_hash, _dlt_load_id, _dlt_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.target(stateTable))
	_, err = c.exec(ctx, q, version+1, int64(stateEngineVersion), c.pkg.PipelineName, string(raw), c.now, hash, c.pkg.LoadID, newRowID())
	if err != nil {
		return fmt.Errorf("write %s: %w", stateTable, err)
	}
	return nil
}

func (c *committer) writeLoad(ctx context.Context) error {
	hash, err := schemaHash(c.pkg.Schema)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`INSERT INTO %s (load_id, schema_name, status, inserted_at, schema_version_hash)
		VALUES (?, ?, ?, ?, ?)`, c.target(loadsTable))
	if _, err := c.exec(ctx, q, c.pkg.LoadID, c.pkg.Schema.Name, int64(loadStatusDone), c.now, hash); err != nil {
		return fmt.Errorf("write %s: %w", loadsTable, err)
	}
	return nil
}

// schemaHash is the schema's own hash, or one of its tables when unset.
func schemaHash(s *normalize.Schema) (string, error) {
	if s.VersionHash != "" {
		return s.VersionHash, nil
	}
	b, err := json.Marshal(s.Tables)
	if err != nil {
		return "", fmt.Errorf("hash schema: %w", err)
	}
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// newRowID is a random _dlt_id like dlt's (14 url-safe characters).
func newRowID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
