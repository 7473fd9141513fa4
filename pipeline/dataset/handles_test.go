package dataset

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// countBuilds reads the fixture's builds through h, as a server's reader
// does: the file opened read-only under key, kept open by h.
func countBuilds(t *testing.T, h *Handles, key, path string) any {
	t.Helper()
	ctx := context.Background()
	db, done, err := h.Acquire(ctx, key, path, 0, func(ctx context.Context) (*sql.DB, error) {
		return duckfile.Open(ctx, path, true, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	var n any
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+datasettest.Dataset+`.builds`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A server's reader keeps the file open between queries, yet a writer of
// this process that waits for the file gets it well within its wait, and the
// next query sees what it wrote.
func TestHandlesKeepTheFileOpenAndLetWritersIn(t *testing.T) {
	ctx := context.Background()
	path := datasettest.NewFile(t)
	h := NewHandles(time.Minute) // idle never ends within the test: only the waiter frees the file
	defer h.Close()
	key := path + "?memory_limit=1GB"
	if got := fmt.Sprint(countBuilds(t, h, key, path)); got != "3" {
		t.Fatalf("builds = %s, want 3", got)
	}
	h.mu.Lock()
	first := h.open[path]
	h.mu.Unlock()
	if first == nil || first.db == nil {
		t.Fatal("no handle kept open after the query")
	}
	countBuilds(t, h, key, path)
	h.mu.Lock()
	same := h.open[path] == first
	h.mu.Unlock()
	if !same {
		t.Fatal("the second query opened the file again")
	}

	start := time.Now()
	w, err := duckfile.Open(ctx, path, false, 5*time.Second)
	if err != nil {
		t.Fatalf("writer did not get the file from an idle reader: %v", err)
	}
	if _, err := w.Exec(`INSERT INTO codefresh_data.builds (id, _dlt_load_id, _dlt_id) VALUES ('b4', 'l', 'd4')`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Logf("writer waited %s for the reader's handle", time.Since(start).Round(time.Millisecond))
	if markers, _ := filepath.Glob(path + ".wait-*"); len(markers) != 0 {
		t.Errorf("the writer left its wait markers: %v", markers)
	}
	if got := fmt.Sprint(countBuilds(t, h, key, path)); got != "4" {
		t.Fatalf("after the write builds = %s, want 4", got)
	}
}

// A marker left by a process that died while waiting holds nobody up.
func TestStaleWaitMarkerIsIgnored(t *testing.T) {
	path := datasettest.NewFile(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` command")
	}
	stale := fmt.Sprintf("%s.wait-%d-dead", path, cmd.Process.Pid)
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if duckfile.Waiting(path) {
		t.Fatal("a dead process's marker counts as waiting")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale marker not removed: %v", err)
	}
	live := fmt.Sprintf("%s.wait-%d-live", path, os.Getpid())
	if err := os.WriteFile(live, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if !duckfile.Waiting(path) {
		t.Fatal("a live process's marker is not seen")
	}
}
