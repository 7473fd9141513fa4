// Package duckfile opens DuckDB files the way every part of this program
// must: briefly, read-only unless writing, and with a bounded wait when
// another process holds the file's lock.
package duckfile

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// DefaultWait is how long Open retries while another process holds the lock.
const DefaultWait = 10 * time.Second

// maxRetryDelay bounds the pause between two tries of a locked file.
const maxRetryDelay = 200 * time.Millisecond

// LockedError says another process holds a lock this one waited for: a
// DuckDB file's, or a Parquet dataset folder's (the parquet destination's
// lock file). Holder is what the lock says about its holder (program, PID).
type LockedError struct {
	Path   string
	What   string // what Path is: "database" when empty, or e.g. "parquet dataset"
	Holder string
	Waited time.Duration
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s %s is locked by another process (%s); waited %s",
		cmp.Or(e.What, "database"), e.Path, e.Holder, e.Waited.Round(time.Millisecond))
}

var holderRe = regexp.MustCompile(`Conflicting lock is held in (.*?\(PID \d+\))`)

// errHeldHere is an open refused because this process holds the file in a
// way DuckDB would not tell (claim).
var errHeldHere = errors.New("the file is open in this process")

// isLockConflict tells a lock conflict from other open errors.
func isLockConflict(err error) (holder string, ok bool) {
	if errors.Is(err, errHeldHere) {
		return "this process", true
	}
	msg := err.Error()
	if strings.Contains(msg, "same database file with a different configuration") ||
		strings.Contains(msg, "Unique file handle conflict") {
		// This process has the file open the other way (a load committing
		// while a query reads; DuckDB words it either way, depending on
		// which of the two opened first): wait as for another process.
		return "this process", true
	}
	if !strings.Contains(msg, "Could not set lock on file") && !strings.Contains(msg, "Conflicting lock") {
		return "", false
	}
	if m := holderRe.FindStringSubmatch(msg); m != nil {
		return m[1], true
	}
	return "holder unknown", true
}

// Open opens path (read-only when readOnly) and pings it, retrying on a lock
// conflict for at most wait (DefaultWait when 0). Extra DSN options may be
// given as "key=value" pairs.
func Open(ctx context.Context, path string, readOnly bool, wait time.Duration, opts ...string) (*sql.DB, error) {
	return OpenInit(ctx, path, readOnly, wait, nil, opts...)
}

// Init runs on every new connection of a database OpenInit opened: settings
// that a DSN cannot carry (lists) are made there.
type Init func(ctx context.Context, conn driver.ExecerContext) error

// OpenInit is Open with init run on each new connection (nil: none).
func OpenInit(ctx context.Context, path string, readOnly bool, wait time.Duration, init Init, opts ...string) (*sql.DB, error) {
	return openInit(ctx, path, path, readOnly, wait, "", init, opts...)
}

// openInit opens the database dsnPath names (path's, or an in-memory one
// that attach, when set, attaches path to), retrying on path's lock.
func openInit(ctx context.Context, path, dsnPath string, readOnly bool, wait time.Duration, attach string, init Init, opts ...string) (*sql.DB, error) {
	if wait <= 0 {
		wait = DefaultWait
	}
	if readOnly {
		opts = append(opts, "access_mode=read_only")
	}
	dsn := dsnPath
	if len(opts) > 0 {
		dsn += "?" + strings.Join(opts, "&")
	}
	start := time.Now()
	delay := 50 * time.Millisecond
	done, announced := func() {}, false
	defer func() { done() }()
	for {
		boot := init
		if attach != "" {
			boot = attachInit(attach, init) // once per database: each try is a new one
		}
		var db *sql.DB
		var err error
		release, ok := func() {}, true
		if path != "" && path != ":memory:" {
			release, ok = claim(path, attach != "")
		}
		if !ok {
			release, err = func() {}, errHeldHere
		} else if db, err = openDB(dsn, boot, release); err == nil {
			err = db.PingContext(ctx)
			if err == nil {
				return db, nil
			}
			db.Close()
		}
		release()
		holder, locked := isLockConflict(err)
		if !locked {
			if dmg := Damaged(path, err); dmg != err {
				return nil, dmg
			}
			return nil, fmt.Errorf("open duckdb %s: %w", path, err)
		}
		if !announced {
			done, announced = announceWait(path), true // ask holders to let go
		}
		waited := time.Since(start)
		if waited+delay > wait {
			return nil, &LockedError{Path: path, Holder: holder, Waited: waited}
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), &LockedError{Path: path, Holder: holder, Waited: waited})
		case <-time.After(delay):
		}
		// Retries stay frequent: in a server, readers wait for a commit's
		// open, and a holder that let go should not leave the file idle.
		delay = min(2*delay, maxRetryDelay)
	}
}

// openDB opens the database of dsn, each connection set up by init.
func openDB(dsn string, init Init, release func()) (*sql.DB, error) {
	var boot func(driver.ExecerContext) error
	if init != nil {
		// Connections open long after the call that opened the database.
		boot = func(conn driver.ExecerContext) error { return init(context.Background(), conn) }
	}
	c, err := duckdb.NewConnector(dsn, boot)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(&releasing{Connector: c, release: release}), nil
}
