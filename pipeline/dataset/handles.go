package dataset

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// Handles keeps a DuckDB file's sandboxed read-only database open between
// the calls of one long-lived process (the MCP server), so a query does not
// pay for opening the file, which costs far more than the query (bench P5).
// A handle is let go as soon as anyone waits for the file (duckfile.Waiting:
// a load about to commit, in this process or another) and after Idle without
// calls, so the write lock stays within reach. The zero value is not usable:
// NewHandles.
type Handles struct {
	idle time.Duration

	mu     sync.Mutex
	open   map[string]*handle // by path and options
	closed bool
}

type handle struct {
	key, path string
	db        *sql.DB
	users     int
	retired   bool // out of the map: closed when its last user is done
	timer     *time.Timer
}

// DefaultIdle is how long an unused handle stays open.
const DefaultIdle = time.Second

// NewHandles returns an empty set; idle 0 means DefaultIdle.
func NewHandles(idle time.Duration) *Handles {
	if idle <= 0 {
		idle = DefaultIdle
	}
	return &Handles{idle: idle, open: map[string]*handle{}}
}

// acquire returns the open database for key, opening it with open when there
// is none or when someone waits for the file; release gives it back.
func (h *Handles) acquire(ctx context.Context, key, path string, wait time.Duration, open func(context.Context) (*sql.DB, error)) (*sql.DB, func(), error) {
	waiting := duckfile.Waiting(path)
	h.mu.Lock()
	if hd := h.open[key]; hd != nil {
		if !waiting {
			hd.users++
			if hd.timer != nil {
				hd.timer.Stop()
				hd.timer = nil
			}
			h.mu.Unlock()
			return hd.db, func() { h.release(hd) }, nil
		}
		h.retireLocked(hd)
	}
	h.mu.Unlock()
	if waiting {
		// Let the waiter in first: reopening at once would take the file
		// back before its next try, and back-to-back queries starve it.
		if err := yield(ctx, path, wait); err != nil {
			return nil, nil, err
		}
	}

	db, err := open(ctx)
	if err != nil {
		return nil, nil, err
	}
	hd := &handle{key: key, path: path, db: db, users: 1}
	h.mu.Lock()
	if h.closed || h.open[key] != nil {
		hd.retired = true // kept for this call only
	} else {
		h.open[key] = hd
	}
	h.mu.Unlock()
	return db, func() { h.release(hd) }, nil
}

func (h *Handles) release(hd *handle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hd.users--
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

// yield waits, at most wait, until nobody waits for the file.
func yield(ctx context.Context, path string, wait time.Duration) error {
	if wait <= 0 {
		wait = duckfile.DefaultWait
	}
	deadline := time.Now().Add(wait)
	for duckfile.Waiting(path) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(yieldPoll):
		}
	}
	return nil
}

const yieldPoll = 20 * time.Millisecond

// waitPoll is how often an unused handle looks for a waiter.
const waitPoll = 100 * time.Millisecond

// retireLocked takes hd out of use and closes it once nobody uses it.
func (h *Handles) retireLocked(hd *handle) {
	if h.open[hd.key] == hd {
		delete(h.open, hd.key)
	}
	hd.retired = true
	if hd.timer != nil {
		hd.timer.Stop()
		hd.timer = nil
	}
	if hd.users == 0 && hd.db != nil {
		hd.db.Close()
		hd.db = nil
	}
}

// Close closes every handle not in use; those in use close when released.
func (h *Handles) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, hd := range h.open {
		h.retireLocked(hd)
	}
	return nil
}
