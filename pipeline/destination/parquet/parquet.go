// Package parquet is the Parquet-files destination: a folder per dataset,
// a folder per table in it and one file per table per load
// (<root>/<dataset>/<table>/<load_id>.parquet, dlt's filesystem layout),
// written by DuckDB from the stage. The system tables are files too, so a
// later run resumes incremental loading.
//
// Replace writes the table's new file and removes the older ones after the
// load is committed. Merge writes a new file with the staged rows when no
// stored key is replaced; when some are, it rewrites the table into one
// new file (kept rows plus staged rows) and removes the superseded files
// after the commit. Files stay plain Parquet that any engine reads without
// merge logic of its own.
//
// Atomicity: every file is written under a temporary name; then a journal
// names the new and the superseded files; then the files are renamed into
// place, the _dlt_loads file last: its rename is the commit point. A crash
// before it leaves new files whose load id has no _dlt_loads file, which
// readers ignore (Scan); a crash after it leaves superseded files that the
// journal names, which readers ignore too. The next commit finishes or
// undoes what the journal describes before it starts.
package parquet

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// DefaultLockWait bounds the wait for another process's commit to the folder.
const DefaultLockWait = 10 * time.Second

// Options configure a Destination.
type Options struct {
	// Dataset is the folder LastState and StoredSchema read; "" = destination.DefaultDataset.
	// Commit writes to the package's Dataset (this one when that is empty).
	Dataset  string
	LockWait time.Duration // 0 = DefaultLockWait
	Logger   *slog.Logger  // nil = discard
}

// Destination writes loads as Parquet files under a root folder.
type Destination struct {
	root    string
	dataset string
	wait    time.Duration
	log     *slog.Logger

	mu sync.Mutex // one commit at a time in this process
	// crashAt, when set (tests), is asked at each commit step; true stops
	// the commit there as a killed process would, without cleaning up.
	crashAt func(step string) bool
}

var _ destination.Destination = (*Destination)(nil)

// New returns the destination writing under root (a folder; created on
// the first commit).
func New(root string, opts Options) *Destination {
	d := &Destination{root: root, dataset: opts.Dataset, wait: opts.LockWait, log: opts.Logger}
	if d.dataset == "" {
		d.dataset = destination.DefaultDataset
	}
	if d.wait <= 0 {
		d.wait = DefaultLockWait
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return d
}

// Kind is "parquet".
func (d *Destination) Kind() string { return "parquet" }

// Root is the folder holding the dataset folders.
func (d *Destination) Root() string { return d.root }

// Close releases nothing: no handle outlives a call.
func (d *Destination) Close() error { return nil }

// LastState is the state written by the pipeline's last committed load; nil
// when there is none.
func (d *Destination) LastState(ctx context.Context, pipelineName string) (json.RawMessage, error) {
	state, err := d.newest(ctx, destination.StateTable, `SELECT state FROM read_parquet(%s, union_by_name = true)
		WHERE pipeline_name = ? ORDER BY version DESC LIMIT 1`, pipelineName)
	if err != nil {
		return nil, fmt.Errorf("parquet: read state of pipeline %s: %w", pipelineName, err)
	}
	return destination.DecodeState("parquet", d.root, pipelineName, state)
}

// StoredSchema is the newest schema of that name in _dlt_version; nil when
// there is none.
func (d *Destination) StoredSchema(ctx context.Context, schemaName string) (*normalize.Schema, error) {
	text, err := d.newest(ctx, destination.VersionTable, `SELECT "schema" FROM read_parquet(%s, union_by_name = true)
		WHERE schema_name = ? ORDER BY inserted_at DESC, version DESC LIMIT 1`, schemaName)
	if err != nil {
		return nil, fmt.Errorf("parquet: read schema %s: %w", schemaName, err)
	}
	return destination.DecodeSchema("parquet", d.root, schemaName, text)
}

// newest is the text the one-row query q answers over the committed files
// of a system table (q's %s is the list of files); nil when there are no
// files or no row.
func (d *Destination) newest(ctx context.Context, table, q string, args ...any) (*string, error) {
	var text *string
	err := d.read(ctx, table, func(db *sql.DB, files string) error {
		return destination.NoRowIsNil(db.QueryRowContext(ctx, fmt.Sprintf(q, files), args...).Scan(&text))
	})
	return text, err
}

// read runs fn over the committed files of a system table with an
// in-memory DuckDB; no files is not an error.
func (d *Destination) read(ctx context.Context, table string, fn func(db *sql.DB, files string) error) error {
	l, err := Scan(d.root, d.dataset)
	if err != nil {
		return err
	}
	files := l.Tables[table]
	if len(files) == 0 {
		return nil
	}
	db, err := duckfile.Open(ctx, "", false, 0, "threads=1")
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db, fileList(files))
}

// fileList is a DuckDB list literal of file paths.
func fileList(files []string) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = quoteString(f)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Commit writes pkg's files and commits them (see the package comment). On
// an error before the commit point the folder is left as it was.
func (d *Destination) Commit(ctx context.Context, pkg *destination.Package) (*destination.CommitStats, error) {
	if err := pkg.Check(); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	dataset := pkg.DatasetOr(d.dataset)
	if err := checkNames(dataset, pkg); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	if pkg.Stage != nil {
		if err := pkg.Stage.Flush(ctx); err != nil {
			return nil, fmt.Errorf("parquet commit: %w", err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	dir := filepath.Join(d.root, dataset)
	release, err := d.lock(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("parquet commit: %w", err)
	}
	defer release()
	if err := recoverCommit(dir, d.log); err != nil {
		return nil, fmt.Errorf("parquet commit: %w", err)
	}
	c := &committer{dir: dir, pkg: pkg, log: d.log, crashAt: d.crashAt,
		stats: &destination.CommitStats{Tables: map[string]destination.TableStats{}}}
	if err := c.run(ctx); err != nil {
		return nil, fmt.Errorf("parquet commit: %w", err)
	}
	for name, ts := range c.stats.Tables {
		d.log.Debug("committed table", "load_id", pkg.LoadID, "table", name, "inserted", ts.Inserted, "deleted", ts.Deleted)
	}
	d.log.Info("load committed", "load_id", pkg.LoadID, "path", dir, "tables", len(c.stats.Tables),
		"files", len(c.written), "duration", time.Since(start).Round(time.Millisecond))
	return c.stats, nil
}

// checkNames refuses a dataset, table or load id that cannot be a folder or file name.
func checkNames(dataset string, pkg *destination.Package) error {
	if !safeName.MatchString(dataset) || dataset == journalName {
		return fmt.Errorf("dataset name %q cannot be a folder name", dataset)
	}
	if !safeName.MatchString(pkg.LoadID) {
		return fmt.Errorf("load id %q cannot be a file name", pkg.LoadID)
	}
	for _, t := range pkg.Schema.Tables {
		if !safeName.MatchString(t.Name) {
			return fmt.Errorf("table name %q cannot be a folder name", t.Name)
		}
	}
	return nil
}

// lock takes the folder's lock file, waiting at most d.wait for another
// process's commit; release unlocks it.
func (d *Destination) lock(ctx context.Context, dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	start := time.Now()
	delay := 50 * time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		waited := time.Since(start)
		if waited+delay > d.wait {
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, &duckfile.LockedError{Path: dir, What: "parquet dataset", Holder: strings.TrimSpace(string(holder)), Waited: waited}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
	// Say who holds it, for the next process's LockedError.
	if err := f.Truncate(0); err == nil {
		host, _ := os.Hostname()
		f.WriteAt([]byte("PID "+strconv.Itoa(os.Getpid())+" on "+host+"\n"), 0)
	}
	return func() {
		unlock(f)
		f.Close()
	}, nil
}
