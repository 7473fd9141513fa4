package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/civiews"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/conformance"
)

// A load whose CI views are unchanged leaves them alone: a reader in the
// middle of a transaction on a view does not hold the commit up (a
// replace waits for every reader of the view, and the readers that come
// after queue behind the replace).
func TestCommitLeavesUnchangedViewsToReaders(t *testing.T) {
	f := newDest(t)
	ctx := context.Background()
	commitBuilds := func(loadID string, n int) {
		t.Helper()
		pkg, err := conformance.BuildRows(ctx, f.dataset, t.TempDir(), loadID, n)
		if err != nil {
			t.Fatal(err)
		}
		defer pkg.Stage.Close()
		// Not a timing assert: a commit waiting on the reader's lock waits forever.
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := f.d.Commit(cctx, pkg); err != nil {
			t.Fatalf("commit %s: %v", loadID, err)
		}
	}
	commitBuilds(load1, 20)
	views := `SELECT c.relname || '=' || obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'v' ORDER BY 1`
	before := f.query(t, views, civiews.Schema(f.dataset))

	reader, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	tx, err := reader.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM "`+civiews.Schema(f.dataset)+`".builds`).Scan(&n); err != nil || n != 20 {
		t.Fatalf("reader: %d builds, %v", n, err)
	}

	commitBuilds(load2, 30)
	if got := f.query(t, `SELECT count(*) FROM "`+civiews.Schema(f.dataset)+`".builds`); got != "30" {
		t.Fatalf("builds view after the second load = %s rows, want 30", got)
	}
	if after := f.query(t, views, civiews.Schema(f.dataset)); after != before || len(before) < 40 {
		t.Fatalf("views and their definitions changed:\n%s\n%s", before, after)
	}
}
