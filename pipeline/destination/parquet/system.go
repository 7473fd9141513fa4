package parquet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// The system tables' rows of a load, a file per table: the schema when its
// hash is new, the state when it changed, and the _dlt_loads row last.

// systemRow writes one row of a system table as its file of this load.
func (c *committer) systemRow(ctx context.Context, table string, values ...any) error {
	var def *normalize.Table
	for _, st := range destination.SystemTables() {
		if st.Name == table {
			def = st
		}
	}
	cols := make([]column, len(def.Columns))
	defs := make([]string, len(def.Columns))
	marks := make([]string, len(def.Columns))
	for i, col := range def.Columns {
		typ, err := stage.SQLType(col.DataType)
		if err != nil {
			return err
		}
		cols[i] = column{col.Name, typ}
		defs[i] = stage.QuoteIdent(col.Name) + " " + typ
		marks[i] = "?"
	}
	tmp := c.tempName()
	if _, err := c.conn.ExecContext(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (%s)", tmp, strings.Join(defs, ", "))); err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	if _, err := c.conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%s)", tmp, strings.Join(marks, ", ")), values...); err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	_, err := c.copyTo(ctx, table, "SELECT * FROM "+tmp)
	return err
}

// writeVersion records the schema when its hash is new, as dlt does.
func (c *committer) writeVersion(ctx context.Context) error {
	s := c.pkg.Schema
	hash, err := destination.SchemaHash(s)
	if err != nil {
		return err
	}
	if files := c.layout.Tables[destination.VersionTable]; len(files) > 0 {
		var n int
		q := "SELECT count(*) FROM " + readFiles(files) + " WHERE schema_name = ? AND version_hash = ?"
		if err := c.conn.QueryRowContext(ctx, q, s.Name, hash).Scan(&n); err != nil {
			return fmt.Errorf("read %s: %w", destination.VersionTable, err)
		}
		if n > 0 {
			return nil
		}
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	return c.systemRow(ctx, destination.VersionTable, int64(s.Version), int64(destination.SchemaEngineVersion), c.now, s.Name, hash, string(doc))
}

// writeState records the pipeline state when it changed, with a version one
// above the last.
func (c *committer) writeState(ctx context.Context) error {
	if !c.pkg.HasState() {
		return nil
	}
	hash := destination.StateHash(c.pkg.State)
	var version int64
	if files := c.layout.Tables[destination.StateTable]; len(files) > 0 {
		var lastHash sql.NullString
		q := "SELECT version, version_hash FROM " + readFiles(files) + " WHERE pipeline_name = ? ORDER BY version DESC LIMIT 1"
		err := c.conn.QueryRowContext(ctx, q, c.pkg.PipelineName).Scan(&version, &lastHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read %s: %w", destination.StateTable, err)
		}
		if lastHash.Valid && lastHash.String == hash {
			return nil
		}
	}
	return c.systemRow(ctx, destination.StateTable, version+1, int64(destination.StateEngineVersion), c.pkg.PipelineName,
		string(c.pkg.State), c.now, hash, c.pkg.LoadID, destination.NewRowID())
}

// writeLoad writes the _dlt_loads file: it must be the last file written.
func (c *committer) writeLoad(ctx context.Context) error {
	hash, err := destination.SchemaHash(c.pkg.Schema)
	if err != nil {
		return err
	}
	return c.systemRow(ctx, destination.LoadsTable, c.pkg.LoadID, c.pkg.Schema.Name, int64(destination.LoadStatusDone), c.now, hash)
}
