package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// In a server (Options.Handles set) a commit runs on the one database of
// the file that the server's readers share: they read the last committed
// snapshot while it commits (MVCC) instead of waiting for its lock. That
// database is open read-write, so it carries the readers' sandbox for the
// whole instance: external access off but for the staging folder of this
// load (allowed_directories, which ATTACH needs), extensions off, the
// configuration locked once set. Alone (a CLI load) the commit opens the
// file for itself, as before, with its smaller memory budget.

// writeDatabase is the database the commit of pkg runs on, and its release.
func (d *Destination) writeDatabase(ctx context.Context, pkg *destination.Package) (*sql.DB, func(), error) {
	if d.handles == nil {
		// A bounded memory budget makes DuckDB spill a large load to disk
		// instead of holding it all until COMMIT.
		db, err := duckfile.OpenWrite(ctx, d.path, d.wait, nil, "memory_limit="+commitMemory, "preserve_insertion_order=false")
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	var allowed []string
	if pkg.Stage != nil {
		allowed = append(allowed, filepath.Dir(pkg.Stage.Path())+string(filepath.Separator))
	}
	key := d.path + "?write&allowed=" + strings.Join(allowed, ",")
	return d.handles.AcquireWrite(ctx, key, d.path, d.wait, func(ctx context.Context) (*sql.DB, error) {
		return openShared(ctx, d.path, d.wait, allowed)
	})
}

// beginCommit holds the server's readers of the file back while the
// transaction commits, or, when the transaction is snapshotSafe (fresh.go),
// gives them connections that read the snapshot before it
// (dataset.Handles.BeginCommit); end is called once it has committed.
func (d *Destination) beginCommit(ctx context.Context, snapshotSafe bool) (end func()) {
	if d.handles == nil {
		return func() {}
	}
	var begin dataset.Begin
	if snapshotSafe {
		begin = beginSnapshot
	}
	return d.handles.BeginCommit(ctx, d.path, d.wait, begin)
}

// beginSnapshot begins a transaction on conn and reads the file's catalog:
// DuckDB takes a transaction's snapshot of a database when it first reads
// it, not at BEGIN.
func beginSnapshot(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin a snapshot: %w", err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()").Scan(&n); err != nil {
		return fmt.Errorf("begin a snapshot: %w", err)
	}
	return nil
}

// readDatabase is the database LastState and StoredSchema read: the
// server's shared one, or the file opened read-only for this call.
func (d *Destination) readDatabase(ctx context.Context) (*sql.DB, func(), error) {
	if d.handles == nil {
		db, err := duckfile.Open(ctx, d.path, true, d.wait)
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	}
	return d.handles.Acquire(ctx, readKey(d.path, DefaultMemoryLimit), d.path, d.wait, func(ctx context.Context) (*sql.DB, error) {
		return openSandboxed(ctx, d.path, d.wait, DefaultMemoryLimit)
	})
}

// openShared opens the file read-write for a commit and the readers that
// share it: the readers' memory limit, and the sandbox set by the first
// connection (a list setting cannot go in a DSN) and then locked.
func openShared(ctx context.Context, path string, wait time.Duration, allowed []string) (*sql.DB, error) {
	var once sync.Once
	var setErr error
	init := func(ctx context.Context, conn driver.ExecerContext) error {
		once.Do(func() { setErr = lockSandbox(ctx, conn, allowed) })
		return setErr
	}
	return duckfile.OpenWrite(ctx, path, wait, init,
		"autoinstall_known_extensions=false",
		"autoload_known_extensions=false",
		"allow_community_extensions=false",
		"memory_limit="+DefaultMemoryLimit,
		// Readers wait while a COMMIT runs (Handles.BeginCommit): no
		// checkpoint inside it; closing the database checkpoints instead.
		"checkpoint_threshold="+sharedCheckpointThreshold,
	)
}

// sharedCheckpointThreshold is the WAL size at which a COMMIT on the shared
// database checkpoints: above what one load writes.
const sharedCheckpointThreshold = "4GB"

// lockSandbox turns external access off but for allowed, and locks the
// configuration.
func lockSandbox(ctx context.Context, conn driver.ExecerContext, allowed []string) error {
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = quoteString(a)
	}
	q := "SET allowed_directories = [" + strings.Join(quoted, ", ") + "]; SET enable_external_access = false; SET lock_configuration = true"
	if _, err := conn.ExecContext(ctx, q, nil); err != nil {
		return fmt.Errorf("sandbox the shared database: %w", err)
	}
	return nil
}
