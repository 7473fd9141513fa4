package dataset

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"
)

// DuckDB (1.5) merges the row groups of a large INSERT into a table during
// the COMMIT, visible at once to every statement, even in a transaction that
// began before it, while the rows the same transaction deletes still show:
// a torn snapshot (TestQueriesDuringACommitReadTheLastSnapshot). Tables the
// transaction creates are out of reach of earlier transactions. So when a
// load wrote only such tables (the committer says so by giving a Begin),
// BeginCommit opens a few connections whose transactions begin before the
// COMMIT, and readers during it take one of them instead of waiting for its
// end; only when all are taken does a reader wait, for one to come back or
// for the COMMIT to end. Without a Begin, readers wait for the end.

// SnapshotConns is how many readers can read at once during a COMMIT.
const SnapshotConns = 4

// snapshot is the connections of one COMMIT whose transactions began
// before it.
type snapshot struct {
	free     []*sql.Conn
	ended    bool          // the COMMIT is over: connections are closed as they come back
	returned chan struct{} // closed (and replaced) when a connection comes back
}

// Begin starts a transaction on conn that reads the database as it is now:
// DuckDB takes a transaction's snapshot when it first reads the database.
type Begin func(ctx context.Context, conn *sql.Conn) error

// BeginCommit is called by a load of this process right before the COMMIT
// of its transaction on the file's shared database; end is called after.
// Readers that start meanwhile read through connections whose transactions
// begin here, before the COMMIT (begin starts each), so they see the last
// committed snapshot; with begin nil they wait for end, at most their own
// wait. The reads in flight, which may run more statements, are waited for,
// at most wait.
func (h *Handles) BeginCommit(ctx context.Context, path string, wait time.Duration, begin Begin) (end func()) {
	path = cleanPath(path)
	deadline := time.Now().Add(orDefault(wait))
	h.mu.Lock()
	hd := h.open[path]
	if hd == nil || !hd.writable || hd.committing != nil {
		h.mu.Unlock()
		return func() {}
	}
	db := hd.db
	h.mu.Unlock()
	// The handle cannot close meanwhile: the committing load uses it.
	conns := snapshotConns(ctx, db, begin)
	h.mu.Lock()
	hd.committing = make(chan struct{})
	hd.snap = &snapshot{free: conns, returned: make(chan struct{})}
	for hd.users > hd.writers+hd.snapUsers {
		if hd.readersGone == nil {
			hd.readersGone = make(chan struct{})
		}
		ch := hd.readersGone
		h.mu.Unlock()
		err := awaitClose(ctx, ch, deadline)
		h.mu.Lock()
		if err != nil {
			break // commit all the same: the load must not fail for a slow reader
		}
	}
	h.mu.Unlock()
	return sync.OnceFunc(func() {
		h.mu.Lock()
		sn := hd.snap
		free := sn.free
		sn.free, sn.ended = nil, true
		hd.snap = nil
		close(hd.committing)
		hd.committing = nil
		h.mu.Unlock()
		for _, c := range free {
			closeSnapshot(c)
		}
	})
}

// snapshotConns opens up to SnapshotConns connections of db in transactions
// begun now; fewer when begin fails (readers then wait for the COMMIT).
func snapshotConns(ctx context.Context, db *sql.DB, begin Begin) []*sql.Conn {
	if begin == nil {
		return nil
	}
	var conns []*sql.Conn
	for range SnapshotConns {
		conn, err := db.Conn(ctx)
		if err != nil {
			break
		}
		if err := begin(ctx, conn); err != nil {
			closeSnapshot(conn)
			break
		}
		conns = append(conns, conn)
	}
	return conns
}

// takeSnapshotLocked hands out a free snapshot connection of hd, or nil and
// keeps the lock. With a connection it unlocks; release gives it back.
func (h *Handles) takeSnapshotLocked(hd *handle) (*sql.Conn, func()) {
	sn := hd.snap
	n := len(sn.free)
	if n == 0 {
		return nil, nil
	}
	conn := sn.free[n-1]
	sn.free = sn.free[:n-1]
	hd.users++
	hd.snapUsers++
	h.mu.Unlock()
	return conn, sync.OnceFunc(func() {
		// A statement that failed may have aborted the transaction, or the
		// connection: either way it cannot serve the next reader.
		healthy := selectOne(conn) == nil
		h.mu.Lock()
		back := healthy && !sn.ended
		if back {
			sn.free = append(sn.free, conn)
			close(sn.returned)
			sn.returned = make(chan struct{})
		}
		hd.snapUsers--
		h.mu.Unlock()
		if !back {
			closeSnapshot(conn)
		}
		h.release(hd, false)
	})
}

func selectOne(conn *sql.Conn) error {
	var one int
	return conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one)
}

// closeSnapshot ends a snapshot connection's transaction and closes it: the
// pool must not hand out a connection inside a transaction.
func closeSnapshot(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		// Unknown state: make database/sql drop the connection.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}
