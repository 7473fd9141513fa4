package dataset

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// Handles owns the DuckDB databases one long-lived process (the MCP server)
// keeps open, at most one per file: DuckDB lets a process hold a file only
// once, and one database serves every connection by MVCC. Readers share
// whatever is open, so a query does not pay for opening the file (bench P5),
// and while a load of this process commits (AcquireWrite) they read the last
// committed snapshot from the load's own database instead of waiting for
// its lock. A database nobody uses is let go as soon as anyone waits for the
// file (duckfile.Waiting: a load or a query worker of another process) and
// after Idle without calls. The zero value is not usable: NewHandles.
type Handles struct {
	idle time.Duration

	mu       sync.Mutex
	open     map[string]*handle       // by file: what new users get
	draining map[string][]*handle     // by file: retired, not closed yet
	opening  map[string]chan struct{} // by file: a writer is opening it
	closed   bool
}

type handle struct {
	key, path string
	db        *sql.DB
	writable  bool
	users     int
	writers   int  // users that write (a load committing)
	retired   bool // out of open: closed when its last user is done
	timer     *time.Timer
	gone      chan struct{} // closed once db is closed
	// committing is open while a load's COMMIT runs on db: new readers
	// read the snapshot taken before it (see BeginCommit) or wait for it;
	// readersGone tells the commit that the readers before it are done.
	committing, readersGone chan struct{}
	snap                    *snapshot // while committing
	snapUsers               int       // users reading a snapshot connection
}

// DefaultIdle is how long an unused handle stays open.
const DefaultIdle = time.Second

// NewHandles returns an empty set; idle 0 means DefaultIdle.
func NewHandles(idle time.Duration) *Handles {
	if idle <= 0 {
		idle = DefaultIdle
	}
	return &Handles{idle: idle, open: map[string]*handle{}, draining: map[string][]*handle{}, opening: map[string]chan struct{}{}}
}

// Open opens a DuckDB file as a handle's database.
type Open func(context.Context) (*sql.DB, error)

// Acquire returns a database to read the file at path: the writer's while
// a load of this process has it (wait bounds the wait for it to open), else
// the open read-only one of key, else one opened with open. release gives
// it back.
func (h *Handles) Acquire(ctx context.Context, key, path string, wait time.Duration, open Open) (*sql.DB, func(), error) {
	db, _, release, err := h.acquire(ctx, key, path, wait, open, false)
	return db, release, err
}

// AcquireConn is Acquire for one connection, which release closes: while
// a load of this process commits into the file it is one of the
// connections whose transaction began before the COMMIT (BeginCommit), so
// a reader sees the last committed snapshot whole instead of waiting.
func (h *Handles) AcquireConn(ctx context.Context, key, path string, wait time.Duration, open Open) (*sql.Conn, func(), error) {
	db, conn, release, err := h.acquire(ctx, key, path, wait, open, true)
	if err != nil || conn != nil {
		return conn, release, err
	}
	conn, err = db.Conn(ctx)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	return conn, func() { conn.Close(); release() }, nil
}

// acquire is Acquire; with snap, a snapshot connection while the file's
// database commits.
func (h *Handles) acquire(ctx context.Context, key, path string, wait time.Duration, open Open, snap bool) (*sql.DB, *sql.Conn, func(), error) {
	path = cleanPath(path)
	deadline := time.Now().Add(orDefault(wait))
	for {
		waiting := duckfile.Waiting(path)
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, nil, nil, errClosed
		}
		if ch := h.opening[path]; ch != nil {
			h.mu.Unlock()
			if err := awaitClose(ctx, ch, deadline); errors.Is(err, errWaitedEnough) {
				return nil, nil, nil, &duckfile.LockedError{Path: path, Holder: "this process, opening it to commit a load", Waited: orDefault(wait)}
			} else if err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		if hd := h.open[path]; hd != nil {
			// A writer's database is shared even when someone waits: the
			// writer holds the file all the same.
			if ch := hd.committing; ch != nil {
				var returned chan struct{}
				if snap {
					if conn, release := h.takeSnapshotLocked(hd); conn != nil {
						return nil, conn, release, nil
					}
					returned = hd.snap.returned
				}
				h.mu.Unlock()
				if err := awaitClose(ctx, ch, deadline, returned); errors.Is(err, errWaitedEnough) {
					return nil, nil, nil, &duckfile.LockedError{Path: path, Holder: "this process, committing a load", Waited: orDefault(wait)}
				} else if err != nil {
					return nil, nil, nil, err
				}
				continue
			}
			if hd.writers > 0 || (!waiting && (hd.writable || hd.key == key)) {
				db, release, err := h.useLocked(hd, false)
				return db, nil, release, err
			}
			h.retireLocked(hd)
		}
		if ch := h.blockingLocked(path, false); ch != nil {
			h.mu.Unlock()
			if err := awaitClose(ctx, ch, deadline); errors.Is(err, errWaitedEnough) {
				break // open reports the conflict
			} else if err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		h.mu.Unlock()
		break
	}
	if duckfile.Waiting(path) {
		// Let the waiter in first: reopening at once would take the file
		// back before its next try, and back-to-back queries starve it.
		if err := yield(ctx, path, wait); err != nil {
			return nil, nil, nil, err
		}
	}
	db, err := open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	db, release, err := h.register(&handle{key: key, path: path, db: db, gone: make(chan struct{})}, false)
	return db, nil, release, err
}

// AcquireWrite returns the database a load of this process commits on,
// opened with open (read-write) under key. Readers of the file share it
// meanwhile: Acquire waits for it to open and hands it out until it is let
// go. Databases of the file open before are closed first, once their
// in-flight readers are done (at most wait).
func (h *Handles) AcquireWrite(ctx context.Context, key, path string, wait time.Duration, open Open) (*sql.DB, func(), error) {
	path = cleanPath(path)
	deadline := time.Now().Add(orDefault(wait))
	var opened chan struct{}
	for opened == nil {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, nil, errClosed
		}
		if ch := h.opening[path]; ch != nil {
			h.mu.Unlock()
			if err := awaitClose(ctx, ch, deadline); err != nil {
				return nil, nil, err
			}
			continue
		}
		if hd := h.open[path]; hd != nil {
			if hd.writable && hd.key == key {
				return h.useLocked(hd, true)
			}
			h.retireLocked(hd)
		}
		opened = make(chan struct{})
		h.opening[path] = opened
		h.mu.Unlock()
	}
	db, err := h.openAfterDrain(ctx, path, deadline, open)
	h.mu.Lock()
	delete(h.opening, path)
	close(opened)
	h.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	return h.register(&handle{key: key, path: path, db: db, writable: true, gone: make(chan struct{})}, true)
}

// openAfterDrain waits, until deadline, for the retired databases of path
// to close, then opens it.
func (h *Handles) openAfterDrain(ctx context.Context, path string, deadline time.Time, open Open) (*sql.DB, error) {
	for {
		h.mu.Lock()
		ch := h.blockingLocked(path, true)
		h.mu.Unlock()
		if ch == nil {
			break
		}
		if err := awaitClose(ctx, ch, deadline); errors.Is(err, errWaitedEnough) {
			break // open reports the conflict
		} else if err != nil {
			return nil, err
		}
	}
	return open(ctx)
}

// Writing tells whether a load of this process holds the file at path, or
// is opening it: a reader of another process would wait for it.
func (h *Handles) Writing(path string) bool {
	path = cleanPath(path)
	h.mu.Lock()
	defer h.mu.Unlock()
	hd := h.open[path]
	return h.opening[path] != nil || (hd != nil && hd.writable)
}

// register makes hd the file's open handle, with one user, unless another
// took its place meanwhile: then hd serves this call only. A writer's
// database takes the place of a reader's (opened while it waited).
func (h *Handles) register(hd *handle, writer bool) (*sql.DB, func(), error) {
	h.mu.Lock()
	if cur := h.open[hd.path]; cur != nil && hd.writable && !cur.writable {
		h.retireLocked(cur)
	}
	if h.closed || h.open[hd.path] != nil {
		hd.retired = true
		h.draining[hd.path] = append(h.draining[hd.path], hd)
	} else {
		h.open[hd.path] = hd
	}
	return h.useLocked(hd, writer)
}

// useLocked counts one more user of hd and unlocks.
func (h *Handles) useLocked(hd *handle, writer bool) (*sql.DB, func(), error) {
	hd.users++
	if writer {
		hd.writers++
	}
	if hd.timer != nil {
		hd.timer.Stop()
		hd.timer = nil
	}
	db := hd.db
	h.mu.Unlock()
	return db, sync.OnceFunc(func() { h.release(hd, writer) }), nil
}

func (h *Handles) release(hd *handle, writer bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hd.users--
	if writer {
		hd.writers--
	}
	if hd.readersGone != nil && hd.users == hd.writers+hd.snapUsers {
		close(hd.readersGone)
		hd.readersGone = nil
	}
	if hd.users > 0 {
		return
	}
	if hd.retired || duckfile.Waiting(hd.path) {
		h.retireLocked(hd)
		return
	}
	h.watchLocked(hd, time.Now().Add(h.idle))
}

// watchLocked looks every waitPoll, while hd is unused, for a waiter or the
// end of its idle time, and retires it then.
func (h *Handles) watchLocked(hd *handle, until time.Time) {
	hd.timer = time.AfterFunc(min(waitPoll, time.Until(until)), func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if hd.users > 0 || hd.retired || hd.timer == nil {
			return
		}
		if !time.Now().Before(until) || duckfile.Waiting(hd.path) {
			h.retireLocked(hd)
			return
		}
		h.watchLocked(hd, until)
	})
}

// retireLocked takes hd out of use and closes it once nobody uses it.
// Closing may checkpoint a written file: it runs outside the lock, and a
// new database of the file waits for it when either one writes.
func (h *Handles) retireLocked(hd *handle) {
	if h.open[hd.path] == hd {
		delete(h.open, hd.path)
		h.draining[hd.path] = append(h.draining[hd.path], hd)
	}
	hd.retired = true
	if hd.timer != nil {
		hd.timer.Stop()
		hd.timer = nil
	}
	if hd.users > 0 || hd.db == nil {
		return
	}
	db := hd.db
	hd.db = nil
	go func() {
		db.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		rest := h.draining[hd.path][:0]
		for _, d := range h.draining[hd.path] {
			if d != hd {
				rest = append(rest, d)
			}
		}
		if len(rest) == 0 {
			delete(h.draining, hd.path)
		} else {
			h.draining[hd.path] = rest
		}
		close(hd.gone)
	}()
}

// blockingLocked is the gone channel of a retired database of path that a
// new one must wait for: DuckDB refuses a second database of a file in one
// process when either one writes; read-only ones may overlap.
func (h *Handles) blockingLocked(path string, writable bool) chan struct{} {
	for _, d := range h.draining[path] {
		if writable || d.writable {
			return d.gone
		}
	}
	return nil
}

// Close closes every handle not in use, and waits for those to close;
// those in use close when released.
func (h *Handles) Close() error {
	h.mu.Lock()
	h.closed = true
	for _, hd := range h.open {
		h.retireLocked(hd)
	}
	var gone []chan struct{}
	for _, ds := range h.draining {
		for _, d := range ds {
			if d.users == 0 {
				gone = append(gone, d.gone)
			}
		}
	}
	h.mu.Unlock()
	for _, ch := range gone {
		<-ch
	}
	return nil
}

var errClosed = errors.New("database handles are closed")

// errWaitedEnough is a wait that reached its deadline.
var errWaitedEnough = errors.New("waited enough")

// awaitClose waits until ch (or else, when not nil) is closed, ctx ends or
// deadline passes.
func awaitClose(ctx context.Context, ch chan struct{}, deadline time.Time, or ...chan struct{}) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	var other chan struct{} // nil blocks
	if len(or) > 0 {
		other = or[0]
	}
	select {
	case <-ch:
		return nil
	case <-other:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errWaitedEnough
	}
}

// yield waits, at most wait, until nobody waits for the file.
func yield(ctx context.Context, path string, wait time.Duration) error {
	deadline := time.Now().Add(orDefault(wait))
	for duckfile.Waiting(path) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(yieldPoll):
		}
	}
	return nil
}

func orDefault(wait time.Duration) time.Duration {
	if wait <= 0 {
		return duckfile.DefaultWait
	}
	return wait
}

// cleanPath is the one name of a file, however a caller spelled it.
func cleanPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

const yieldPoll = 20 * time.Millisecond

// waitPoll is how often an unused handle looks for a waiter.
const waitPoll = 100 * time.Millisecond
