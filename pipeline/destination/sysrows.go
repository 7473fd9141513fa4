package destination

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
)

// Row is one row a query returned: *sql.Row and pgx.Row both are one.
type Row interface {
	Scan(dest ...any) error
}

// SystemRows writes a SQL commit's rows of the system tables inside its
// transaction. DuckDB and PostgreSQL take the same statements ($n
// parameters); a missing row is sql.ErrNoRows in both drivers.
type SystemRows struct {
	Pkg      *Package
	Now      time.Time
	Target   func(table string) string // a dataset table's qualified name
	Exec     func(ctx context.Context, q string, args ...any) (int64, error)
	QueryRow func(ctx context.Context, q string, args ...any) Row
	// Dataset and Columns (the dataset's tables and their columns once the
	// load's tables are made) let the commit refresh the CI views.
	Dataset string
	Columns func() Columns
	// ViewComments reads the comments of the views in schema (nil when
	// the schema does not exist): views whose definition is unchanged are
	// left alone, and the schema is created only when missing (in PostgreSQL both a replace and CREATE SCHEMA take locks
	// or rights that readers and a loader without CREATE on the database
	// would feel).
	ViewComments func(ctx context.Context, schema string) (map[string]string, error)
}

// WriteVersion records the schema when its hash is new, as dlt does.
func (w *SystemRows) WriteVersion(ctx context.Context) error {
	s := w.Pkg.Schema
	hash, err := SchemaHash(s)
	if err != nil {
		return err
	}
	var n int
	q := fmt.Sprintf("SELECT count(*) FROM %s WHERE schema_name = $1 AND version_hash = $2", w.Target(VersionTable))
	if err := w.QueryRow(ctx, q, s.Name, hash).Scan(&n); err != nil {
		return fmt.Errorf("read %s: %w", VersionTable, err)
	}
	if n > 0 {
		return nil
	}
	doc, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	q = fmt.Sprintf(`INSERT INTO %s (version, engine_version, inserted_at, schema_name, version_hash, "schema")
		VALUES ($1, $2, $3, $4, $5, $6)`, w.Target(VersionTable))
	if _, err := w.Exec(ctx, q, int64(s.Version), int64(SchemaEngineVersion), w.Now, s.Name, hash, string(doc)); err != nil {
		return fmt.Errorf("write %s: %w", VersionTable, err)
	}
	return nil
}

// WriteState records the pipeline state when it changed, with a version
// one above the last. dlt reads plain JSON state too (decompress_state
// falls back).
func (w *SystemRows) WriteState(ctx context.Context) error {
	if !w.Pkg.HasState() {
		return nil
	}
	raw := w.Pkg.State
	hash := StateHash(raw)
	var (
		version  int64
		lastHash *string
	)
	q := fmt.Sprintf("SELECT version, version_hash FROM %s WHERE pipeline_name = $1 ORDER BY version DESC LIMIT 1", w.Target(StateTable))
	err := w.QueryRow(ctx, q, w.Pkg.PipelineName).Scan(&version, &lastHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read %s: %w", StateTable, err)
	}
	if lastHash != nil && *lastHash == hash {
		return nil
	}
	q = fmt.Sprintf(`INSERT INTO %s (version, engine_version, pipeline_name, state, created_at, version_hash, _dlt_load_id, _dlt_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, w.Target(StateTable))
	_, err = w.Exec(ctx, q, version+1, int64(StateEngineVersion), w.Pkg.PipelineName, string(raw), w.Now, hash, w.Pkg.LoadID, NewRowID())
	if err != nil {
		return fmt.Errorf("write %s: %w", StateTable, err)
	}
	return nil
}

// WriteLoad writes the load's _dlt_loads row.
func (w *SystemRows) WriteLoad(ctx context.Context) error {
	hash, err := SchemaHash(w.Pkg.Schema)
	if err != nil {
		return err
	}
	q := fmt.Sprintf(`INSERT INTO %s (load_id, schema_name, status, inserted_at, schema_version_hash)
		VALUES ($1, $2, $3, $4, $5)`, w.Target(LoadsTable))
	if _, err := w.Exec(ctx, q, w.Pkg.LoadID, w.Pkg.Schema.Name, int64(LoadStatusDone), w.Now, hash); err != nil {
		return fmt.Errorf("write %s: %w", LoadsTable, err)
	}
	return nil
}

// WriteViews creates or refreshes the CI views (civiews) over the tables the
// dataset has now, in the load's transaction: a reader sees the views the
// load's columns call for together with its rows, never a load without them.
func (w *SystemRows) WriteViews(ctx context.Context) error {
	if w.Columns == nil {
		return nil
	}
	// The types are the schema's: the catalog read has names only.
	tables := map[string]map[string]string{}
	for table, names := range w.Columns() {
		types := map[string]string{}
		if t := w.Pkg.Table(table); t != nil {
			for _, c := range w.Pkg.Columns(t) {
				types[c.Name] = string(c.DataType)
			}
		}
		cols := map[string]string{}
		for name := range names {
			cols[name] = types[name]
		}
		tables[table] = cols
	}
	views := civiews.Definitions(w.Dataset, tables)
	if len(views) == 0 {
		return nil
	}
	have, err := w.ViewComments(ctx, civiews.Schema(w.Dataset))
	if err != nil {
		return fmt.Errorf("read CI views in %s: %w", civiews.Schema(w.Dataset), err)
	}
	var stmts []string
	if have == nil {
		stmts = append(stmts, civiews.CreateSchema(w.Dataset))
	}
	for _, v := range views {
		if have[v.Name] != v.Comment {
			stmts = append(stmts, v.Create, v.SetComment(w.Dataset))
		}
	}
	for _, q := range stmts {
		if _, err := w.Exec(ctx, q); err != nil {
			return fmt.Errorf("refresh CI views in %s: %w", civiews.Schema(w.Dataset), err)
		}
	}
	return nil
}

// Commit runs a SQL commit's steps in order: createTables, moveRows, then
// the version, state and loads rows and the CI views. afterStep, when set
// (tests), hears each step's name ("tables", "rows", "version", "state",
// "loads", "views") once it is done.
func (w *SystemRows) Commit(ctx context.Context, createTables, moveRows func(context.Context) error, afterStep func(string)) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"tables", createTables},
		{"rows", moveRows},
		{"version", w.WriteVersion},
		{"state", w.WriteState},
		{"loads", w.WriteLoad},
		{"views", w.WriteViews},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return err
		}
		if afterStep != nil {
			afterStep(s.name)
		}
	}
	return nil
}
