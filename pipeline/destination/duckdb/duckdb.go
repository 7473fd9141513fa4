// Package duckdb is the DuckDB destination: one file, one dataset schema in
// it, tables laid out as dlt lays them out. The file is opened only inside
// each call, so the write lock is held only while a load commits.
package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// DefaultDataset is dlt's default dataset name for our pipeline.
const DefaultDataset = destination.DefaultDataset

// Options configure a Destination.
type Options struct {
	// Dataset is the schema LastState and StoredSchema read; "" = DefaultDataset.
	// Commit writes to the package's Dataset (this one when that is empty).
	Dataset string
	// LockWait bounds the wait for another process's lock; 0 = duckfile.DefaultWait.
	LockWait time.Duration
	Logger   *slog.Logger // nil = discard
	// Handles, when set (a server), is where the commit gets the file's
	// database, shared with the server's readers (see shared.go).
	Handles *dataset.Handles
}

// Destination writes loads into a DuckDB file.
type Destination struct {
	path    string
	dataset string
	wait    time.Duration
	log     *slog.Logger
	handles *dataset.Handles

	// mu serialises this destination's calls: DuckDB refuses to open a file
	// that another database in the same process already has open.
	mu sync.Mutex
	// afterStep, when set (tests), runs after each commit step.
	afterStep func(step string)
}

var _ destination.Destination = (*Destination)(nil)

// New returns the destination for the DuckDB file at path. Nothing is
// opened until a call needs the file.
func New(path string, opts Options) *Destination {
	d := &Destination{path: path, dataset: opts.Dataset, wait: opts.LockWait, log: opts.Logger, handles: opts.Handles}
	if d.dataset == "" {
		d.dataset = DefaultDataset
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d
}

// Kind is "duckdb".
func (d *Destination) Kind() string { return "duckdb" }

// Path is the database file.
func (d *Destination) Path() string { return d.path }

// Close releases nothing: no handle outlives a call.
func (d *Destination) Close() error { return nil }

// LastState is the state written by the pipeline's last committed load; nil
// when the file, the dataset or a state does not exist yet.
func (d *Destination) LastState(ctx context.Context, pipelineName string) (json.RawMessage, error) {
	q := fmt.Sprintf(`SELECT s.state FROM %s s JOIN %s l ON l.load_id = s._dlt_load_id
		WHERE s.pipeline_name = ? AND l.status = 0
		ORDER BY s.version DESC, l.load_id DESC LIMIT 1`,
		qualify(d.dataset, stateTable), qualify(d.dataset, loadsTable))
	state, err := d.newest(ctx, []string{stateTable, loadsTable}, q, pipelineName)
	if err != nil {
		return nil, fmt.Errorf("duckdb: read state of pipeline %s: %w", pipelineName, err)
	}
	return destination.DecodeState("duckdb", d.path, pipelineName, state)
}

// StoredSchema is the newest schema of that name in _dlt_version; nil when
// there is none.
func (d *Destination) StoredSchema(ctx context.Context, schemaName string) (*normalize.Schema, error) {
	q := fmt.Sprintf(`SELECT "schema" FROM %s WHERE schema_name = ?
		ORDER BY inserted_at DESC, version DESC LIMIT 1`, qualify(d.dataset, versionTable))
	text, err := d.newest(ctx, []string{versionTable}, q, schemaName)
	if err != nil {
		return nil, fmt.Errorf("duckdb: read schema %s: %w", schemaName, err)
	}
	return destination.DecodeSchema("duckdb", d.path, schemaName, text)
}

// newest is the text the one-row query q answers on the file opened
// read-only, when every one of tables exists in the dataset; nil when the
// file, a table or the row does not.
func (d *Destination) newest(ctx context.Context, tables []string, q string, args ...any) (*string, error) {
	var text *string
	err := d.read(ctx, tables, func(db *sql.DB) error {
		return destination.NoRowIsNil(db.QueryRowContext(ctx, q, args...).Scan(&text))
	})
	return text, err
}

// read opens the file read-only and runs fn when every one of tables exists
// in the dataset; a missing file or table is not an error.
func (d *Destination) read(ctx context.Context, tables []string, fn func(*sql.DB) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := os.Stat(d.path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, release, err := d.readDatabase(ctx)
	if err != nil {
		return err
	}
	defer release()
	for _, t := range tables {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
			WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`,
			d.dataset, t).Scan(&n)
		if err != nil {
			return duckfile.Damaged(d.path, err)
		}
		if n == 0 {
			return nil
		}
	}
	return duckfile.Damaged(d.path, fn(db))
}

// Commit writes pkg in one transaction: tables and columns, rows by write
// disposition, the schema version, the state and the _dlt_loads row. On any
// error the transaction rolls back and the file is as it was.
func (d *Destination) Commit(ctx context.Context, pkg *destination.Package) (*destination.CommitStats, error) {
	if err := pkg.Check(); err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	dataset := pkg.DatasetOr(d.dataset)
	// Rows must be in the staging file, and the stage must let go of it,
	// before this process can ATTACH it.
	if pkg.Stage != nil {
		if err := pkg.Stage.Flush(ctx); err != nil {
			return nil, fmt.Errorf("duckdb commit: %w", err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	var stats *destination.CommitStats
	moved := false
	if d.movable(dataset, pkg) {
		var err error
		if stats, moved, err = d.commitByMove(ctx, dataset, pkg); err != nil {
			return nil, fmt.Errorf("duckdb commit: %w", err)
		}
	}
	if !moved {
		var err error
		if stats, err = d.commit(ctx, dataset, pkg); err != nil {
			return nil, fmt.Errorf("duckdb commit: %w", err)
		}
	}
	for name, ts := range stats.Tables {
		d.log.Debug("committed table", "load_id", pkg.LoadID, "table", name, "inserted", ts.Inserted, "deleted", ts.Deleted)
	}
	d.log.Info("load committed", "load_id", pkg.LoadID, "path", d.path, "dataset", dataset,
		"tables", len(stats.Tables), "moved", moved, "duration", time.Since(start).Round(time.Millisecond))
	return stats, nil
}

func (d *Destination) commit(ctx context.Context, dataset string, pkg *destination.Package) (_ *destination.CommitStats, err error) {
	db, release, err := d.writeDatabase(ctx, pkg)
	if err != nil {
		return nil, err
	}
	defer release()
	// ATTACH is per database and the transaction per connection: keep to one.
	conn, catalog, err := connect(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := duckfile.PrivateWAL(ctx, conn, d.path); err != nil {
		return nil, err
	}
	staged := pkg.Stage != nil && len(pkg.Stage.Tables()) > 0
	if staged {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", quoteString(pkg.Stage.Path()), stageAlias)); err != nil {
			return nil, fmt.Errorf("attach stage: %w", err)
		}
		defer func() {
			// The cancelled ctx must not keep the stage attached.
			if _, derr := conn.ExecContext(context.Background(), "DETACH "+stageAlias); derr != nil && err == nil {
				err = fmt.Errorf("detach stage: %w", derr)
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	c := &committer{tx: tx, catalog: catalog, dataset: dataset, pkg: pkg, staged: staged, afterStep: d.afterStep,
		stats: &destination.CommitStats{Tables: map[string]destination.TableStats{}}}
	if err := c.run(ctx); err != nil {
		// A cancelled ctx has already rolled the transaction back.
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return nil, err
	}
	end := d.beginCommit(ctx, c.snapshotSafe())
	err = tx.Commit()
	end()
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	// A checkpoint may have started a new WAL.
	if err := duckfile.Restrict(d.path); err != nil {
		return nil, err
	}
	return c.stats, nil
}

// commitMemory is DuckDB's memory budget while committing a load. DuckDB's
// bulk insert peaks near twice it: a larger budget raised a load's peak RSS
// (bench P4) for no speed, a smaller one ran out of memory merging 1M builds
// over 1M.
const commitMemory = "160MB"

// connect takes one connection of db and the name of its catalog.
func connect(ctx context.Context, db *sql.DB) (*sql.Conn, string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("connect: %w", err)
	}
	var catalog string
	if err := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&catalog); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("current database: %w", err)
	}
	return conn, catalog, nil
}
