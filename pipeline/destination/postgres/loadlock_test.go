package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// A commit bounded by LockWait fails while another session holds the
// dataset, naming that session; nothing is written. Once the holder lets go
// within the bound, the commit lands.
func TestCommitLockWaitNamesHolder(t *testing.T) {
	f := newDest(t)
	creds := secrets.PostgresOptions{Env: func(k string) string {
		if k == "DESTINATION__POSTGRES__CREDENTIALS" {
			return f.dsn
		}
		return ""
	}}
	s := orderSchema("merge")
	holderPID, release := pgtest.HoldAdvisoryLock(t, f.dsn, LoadLockKey(f.dataset), "scheduled-load-holder")

	short := New(Options{Dataset: f.dataset, Credentials: creds, LockWait: 300 * time.Millisecond})
	st := stageOrders(t, s, load1, order{1, "x", []string{"i"}})
	_, err := short.Commit(context.Background(), f.pkg(s, st, load1, ""))
	var le *duckfile.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LockedError", err)
	}
	for _, want := range []string{`"scheduled-load-holder"`, fmt.Sprintf("server backend PID %d", holderPID), "postgres dataset " + f.dataset + " at postgresql://", "in a transaction since "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if le.Waited < 300*time.Millisecond {
		t.Errorf("gave up after %s, before the 300ms bound", le.Waited)
	}
	if got := f.query(t, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, f.dataset); got != "0" {
		t.Fatalf("a refused commit created the schema: %s", got)
	}

	// The holder lets go once this commit is seen waiting (its session named).
	long := New(Options{Dataset: f.dataset, Credentials: creds, LockWait: time.Minute})
	errs := make(chan error, 1)
	go func() {
		_, err := long.Commit(context.Background(), f.pkg(s, st, load1, ""))
		errs <- err
	}()
	waitForSession(t, f.dsn, applicationName())
	release()
	if err := <-errs; err != nil {
		t.Fatalf("commit after the holder let go: %v", err)
	}
	if got := f.query(t, `SELECT (SELECT count(*) FROM "order"), (SELECT count(*) FROM _dlt_loads)`); got != "1,1" {
		t.Fatalf("counts = %s", got)
	}
}

// waitForSession returns once a session named app is connected.
func waitForSession(t *testing.T, dsn, app string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("no session named %q within 30s", app)
}
