package dataset

import (
	"context"
	"database/sql"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset/datasettest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
)

// beginSnapshot is what a DuckDB committer gives BeginCommit.
func beginSnapshot(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	var n int64
	return conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()").Scan(&n)
}

// snapshotFixture is a file whose writer (of h) has doubled the builds in a
// transaction not committed yet.
func snapshotFixture(t *testing.T) (h *Handles, path string, commit func()) {
	t.Helper()
	ctx := context.Background()
	path = datasettest.NewFile(t)
	h = NewHandles(0)
	t.Cleanup(func() { h.Close() })
	db, release, err := h.AcquireWrite(ctx, path+"?write", path, 0, func(ctx context.Context) (*sql.DB, error) {
		return duckfile.Open(ctx, path, false, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	w, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.ExecContext(ctx, "BEGIN TRANSACTION; INSERT INTO "+datasettest.Dataset+".builds SELECT * FROM "+datasettest.Dataset+".builds"); err != nil {
		t.Fatal(err)
	}
	return h, path, func() {
		if _, err := w.ExecContext(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
	}
}

func readConn(t *testing.T, h *Handles, path string) (*sql.Conn, func()) {
	t.Helper()
	conn, release, err := h.AcquireConn(context.Background(), path+"?read", path, 0, func(ctx context.Context) (*sql.DB, error) {
		t.Error("a reader opened the file while its writer holds it")
		return duckfile.Open(ctx, path, true, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn, release
}

func countOn(t *testing.T, conn *sql.Conn) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRowContext(context.Background(), "SELECT count(*) FROM "+datasettest.Dataset+".builds").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// During a COMMIT with a Begin, every reader gets a connection reading the
// state before it, through the COMMIT and after it while it holds the
// connection; one more reader than there are connections gets one given
// back; a connection whose statement failed serves the next reader all the
// same or is replaced by waiting; after end, readers see the commit.
func TestSnapshotConnectionsReadTheStateBeforeTheCommit(t *testing.T) {
	h, path, commit := snapshotFixture(t)
	end := h.BeginCommit(context.Background(), path, 0, beginSnapshot)
	var held []func()
	for range SnapshotConns {
		conn, release := readConn(t, h, path)
		if n := countOn(t, conn); n != 3 {
			t.Fatalf("a reader during the commit counts %d builds, want the 3 committed", n)
		}
		held = append(held, release)
	}
	got := make(chan int64, 1)
	go func() {
		conn, release := readConn(t, h, path)
		defer release()
		got <- countOn(t, conn)
	}()
	held[0]() // gives one back to the waiting reader
	if n := <-got; n != 3 {
		t.Fatalf("the reader beyond the pool counts %d builds, want 3", n)
	}
	conn, release := readConn(t, h, path)
	if err := conn.QueryRowContext(context.Background(), "SELECT nope FROM nowhere").Scan(new(int)); err == nil {
		t.Fatal("a failing statement did not fail")
	}
	release()
	conn, release = readConn(t, h, path)
	if n := countOn(t, conn); n != 3 {
		t.Fatalf("after a failed statement a reader counts %d builds, want 3", n)
	}
	commit()
	if n := countOn(t, conn); n != 3 {
		t.Fatalf("a reader holding its snapshot counts %d builds after the COMMIT, want 3", n)
	}
	release()
	end()
	for _, r := range held[1:] {
		r()
	}
	conn, release = readConn(t, h, path)
	defer release()
	if n := countOn(t, conn); n != 6 {
		t.Fatalf("after the commit a reader counts %d builds, want 6", n)
	}
}

// Without a Begin, a reader during the COMMIT waits for its end and then
// sees it.
func TestReadersWaitForACommitWithoutBegin(t *testing.T) {
	h, path, commit := snapshotFixture(t)
	end := h.BeginCommit(context.Background(), path, 0, nil)
	got := make(chan int64, 1)
	go func() {
		conn, release := readConn(t, h, path)
		defer release()
		got <- countOn(t, conn)
	}()
	commit()
	end()
	if n := <-got; n != 6 {
		t.Fatalf("the reader counts %d builds, want the 6 committed", n)
	}
}
