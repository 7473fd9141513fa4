// Package duckfiletest lets a test hold a DuckDB file open for writing in
// another process, as a load of another process does: the test binary runs
// itself again as the holder. A package whose tests use Start calls Serve
// first in its TestMain.
package duckfiletest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
)

const (
	envPath = "CODEFRESH_MCP_TEST_HOLD_DUCKDB"    // the file a holder process holds
	envMS   = "CODEFRESH_MCP_TEST_HOLD_DUCKDB_MS" // > 0: the holder lets go by itself after this long
	ready   = "holding"
)

// Serve makes this process the holder when Start started it: it holds the
// file and returns the exit code and true. Otherwise it returns at once
// with false.
func Serve() (code int, holder bool) {
	path := os.Getenv(envPath)
	if path == "" {
		return 0, false
	}
	db, err := duckfile.Open(context.Background(), path, false, time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hold:", err)
		return 2, true
	}
	defer db.Close()
	fmt.Println(ready)
	if ms, _ := strconv.Atoi(os.Getenv(envMS)); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	} else {
		io.Copy(io.Discard, os.Stdin)
	}
	return 0, true
}

// Start runs the test binary again to hold path for writing and returns
// once it does, with the holder's PID and a release that ends it (called
// at the end of t too). holdMS > 0 makes the holder let go by itself after
// that many milliseconds, as a commit does.
func Start(t testing.TB, path string, holdMS int) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envPath+"="+path, envMS+"="+strconv.Itoa(holdMS))
	stdin, stdout, stderr := logtest.Start(t, cmd)
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("holder of %s: %v\n%s", path, err, stderr.String())
		}
	}
	t.Cleanup(release)
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); strings.TrimSpace(line) != ready {
		release()
		t.Fatalf("holder did not open %s: %q\n%s", path, line, stderr.String())
	}
	return cmd.Process.Pid, release
}
