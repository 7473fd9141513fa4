package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

// timedCount is one query tool call counting builds: its duration, the
// count, or the error text.
type timedCount struct {
	took  time.Duration
	count float64
	err   string
}

func countThroughServer(t *testing.T, c *client.Client) timedCount {
	t.Helper()
	start := time.Now()
	res, text := callText(t, c, "query", map[string]any{"sql": "SELECT count(*) AS n FROM codefresh_data.builds"})
	tc := timedCount{took: time.Since(start)}
	var q struct {
		Rows [][]any `json:"rows"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &q) != nil || len(q.Rows) != 1 {
		tc.err = text
		return tc
	}
	tc.count, _ = q.Rows[0][0].(float64)
	return tc
}

// queryUntil calls query back to back until done is closed.
func queryUntil(t *testing.T, c *client.Client, done <-chan struct{}) []timedCount {
	var out []timedCount
	for {
		select {
		case <-done:
			return out
		default:
		}
		out = append(out, countThroughServer(t, c))
	}
}

func summary(cs []timedCount) string {
	ds := make([]time.Duration, len(cs))
	for i, c := range cs {
		ds[i] = c.took
	}
	slices.Sort(ds)
	if len(ds) == 0 {
		return "no queries"
	}
	return fmt.Sprintf("%d queries, p50 %s, max %s", len(ds), ds[len(ds)/2].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}

// A server's queries never fail because of a load: during its own load's
// commit they read the last committed snapshot (in the server, on the
// commit's database; the query worker cannot open the file then); during a
// CLI load of another process they wait for its brief commit, and one that
// waited longer than its timeout would name the CLI's PID.
func testServeQueriesDuringLoads(t *testing.T, bin string) {
	const builds = 3000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, base := serveSim(t, cfsim.Config{Seed: 9, Builds: builds, Pipelines: 6, Projects: 2})
	dir := t.TempDir()
	env := []string{"CF_API_KEY=" + serveCanary, "CODEFRESH_BASE_URL=" + base}
	cliLoad := func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, "--project", dir, "load", "--resources", "builds", "--full-refresh")
		cmd.Env = append(os.Environ(), env...)
		return cmd
	}
	if out, err := cliLoad().CombinedOutput(); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	c, stderr := startStdio(t, bin, env, "serve", "--project", dir)
	pause := make(chan struct{})
	time.AfterFunc(500*time.Millisecond, func() { close(pause) })
	idle := queryUntil(t, c, pause)

	// The server's own load.
	res, text := callText(t, c, "start_load", map[string]any{"resources": []string{"builds"}, "full_refresh": true})
	var started struct {
		JobID string `json:"job_id"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &started) != nil {
		t.Fatalf("start_load: %s", text)
	}
	done := make(chan struct{})
	states := make(chan string, 1)
	go func() {
		defer close(done)
		for {
			_, text := callText(t, c, "load_status", map[string]any{"job_id": started.JobID, "wait_seconds": 30})
			if !strings.Contains(text, `"state":"running"`) {
				states <- text
				return
			}
		}
	}()
	during := queryUntil(t, c, done)
	if st := <-states; !strings.Contains(st, `"state":"succeeded"`) {
		t.Fatalf("the server's load: %s", st)
	}
	for _, q := range during {
		if q.err != "" || q.count != builds {
			t.Errorf("query during the server's load: %v builds, %s", q.count, q.err)
		}
	}
	if !strings.Contains(stderr.String(), "load committed") {
		t.Errorf("the server did not log its commit:\n%s", stderr.String())
	}

	// A CLI load: another process commits.
	load := cliLoad()
	var out strings.Builder
	load.Stdout, load.Stderr = &out, &out
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	cliDone := make(chan struct{})
	var loadErr error
	go func() { loadErr = load.Wait(); close(cliDone) }()
	cross := queryUntil(t, c, cliDone)
	if loadErr != nil {
		t.Fatalf("CLI load beside the server: %v\n%s", loadErr, out.String())
	}
	holder := fmt.Sprintf("(PID %d)", load.Process.Pid)
	answered := 0
	for _, q := range cross {
		switch {
		case q.err == "" && q.count == builds:
			answered++
		case strings.Contains(q.err, "is locked by another process") && strings.Contains(q.err, holder):
		default:
			t.Errorf("query during the CLI load: %v builds, %s; want an answer or the holder %s", q.count, q.err, holder)
		}
	}
	t.Logf("idle: %s; during the server's load: %s; during a CLI load: %s, %d answered", summary(idle), summary(during), summary(cross), answered)
	if len(during) == 0 || len(cross) == 0 {
		t.Errorf("%d queries during the server's load, %d during the CLI's", len(during), len(cross))
	}
}
