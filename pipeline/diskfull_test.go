package pipeline_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// tmpfsEnv names the small tmpfs TestFullDiskForReal runs its project on,
// inside the user and mount namespace it re-executes itself in.
const tmpfsEnv = "CFMCP_TEST_TMPFS"

// A load on a disk that fills during the commit fails as disk_full naming
// the project folder and its free space (not DuckDB's "raise memory_limit"),
// keeps no debug record, leaves no temporary file, names only the trace it
// kept, and the database is as before; once space is freed the next load
// commits. The disk is a real 64 MiB tmpfs; where namespaces cannot be made
// (no unshare, no user namespaces) the test is skipped, and
// TestLowDiskDropsTheDebugRecord still covers the record.
func TestFullDiskForReal(t *testing.T) {
	dir := os.Getenv(tmpfsEnv)
	if dir == "" {
		reexecOnTmpfs(t)
		return
	}
	f := newFixtureIn(t, dir, cfsim.Config{Pipelines: 6, Builds: 2000, Projects: 3})
	f.run(pipeline.Options{})
	before := f.snapshot()

	// Leave 2 MiB: less than the commit needs.
	filler := filepath.Join(dir, "filler")
	free := projectfs.FreeSpace(dir).Free
	if err := os.WriteFile(filler, make([]byte, free-2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := f.proj.Run(context.Background(), pipeline.Options{FullRefresh: true})
	var dfe *projectfs.DiskFullError
	if !errors.As(err, &dfe) || dfe.Dir != dir || dfe.Free > 2<<20 {
		t.Fatalf("load on a full disk: %v", err)
	}
	msg := err.Error()
	t.Logf("the error: %s", msg)
	if !strings.HasPrefix(msg, "commit load ") || !strings.Contains(msg, "disk full: "+dir+" has ") ||
		strings.Contains(msg, "memory_limit") || strings.Contains(msg, "debug record of the requests kept") ||
		!strings.HasSuffix(msg, "; `codefresh-mcp info` shows the trace)") {
		t.Errorf("message: %s", msg)
	}
	tr, terr := f.proj.Trace("")
	if terr != nil || tr.Error == nil || tr.Error.Cause != trace.CauseDiskFull || tr.Record != "" ||
		!strings.Contains(tr.RecordDropped, "less than the 64.0 MiB kept free for loads") {
		t.Fatalf("trace %+v (%v)", tr, terr)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(d.Name(), ".tmp") || strings.Contains(d.Name(), ".tmp-") || strings.HasSuffix(d.Name(), ".jsonl")) {
			left = append(left, p)
		}
		return err
	})
	if len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if after := f.snapshot(); after != before {
		t.Fatal("the database changed after a load that failed for space")
	}

	os.Remove(filler)
	f.run(pipeline.Options{FullRefresh: true})
}

// reexecOnTmpfs runs TestFullDiskForReal again in a user and mount
// namespace with a 64 MiB tmpfs for its project.
func reexecOnTmpfs(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare: a real full disk cannot be made here")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	os.Mkdir(dir, 0o700)
	script := `mount -t tmpfs -o size=64m tmpfs "$1" && exec "$0" -test.run='^TestFullDiskForReal$' -test.count=1 -test.v`
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, os.Args[0], dir)
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+dir)
	if err := exec.Command("unshare", "--user", "--map-root-user", "--mount", "true").Run(); err != nil {
		t.Skipf("no user and mount namespaces (%v): a real full disk cannot be made here", err)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("on a 64 MiB tmpfs:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestFullDiskForReal") {
		t.Fatalf("the run on a tmpfs failed: %v", err)
	}
}

// newFixtureIn is newFixture with the project in dir.
func newFixtureIn(t *testing.T, dir string, cfg cfsim.Config) *fixture {
	t.Helper()
	f := newFixture(t, cfg, nil)
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Credentials, p.RatePerSecond, p.RetryBaseWait, p.LockWait = f.proj.Credentials, f.proj.RatePerSecond, f.proj.RetryBaseWait, f.proj.LockWait
	f.proj, f.db = p, filepath.Join(dir, "codefresh.duckdb")
	return f
}
