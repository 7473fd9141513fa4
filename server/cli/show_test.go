package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
)

// TestShowAfterDemoLoad: `load --demo` then `show --no-browser` serves an
// overview of the demo tables with their row counts; without the token or
// from a foreign Origin the answer is 403; pipeline_info's record of the
// URL lives as long as the dashboard.
func TestShowAfterDemoLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := runIn(t, dir, "load", "--demo", "--demo-builds", "300"); err != nil {
		t.Fatal(err)
	}
	// A second load whose builds listing repeats a page: pipelines commit,
	// builds fail; the Loads page shows it from the load trace.
	if _, err := runIn(t, dir, "load", "--demo", "--demo-builds", "300", "--full-refresh", "--demo-deviations", "page-size-cap=10,repeat-page=/workflow"); err == nil {
		t.Fatal("a load with a failed resource exited 0")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCmd(&app{stdout: os.Stdout, stderr: os.Stderr})
	root.SetOut(pw)
	root.SetArgs([]string{"--project", dir, "show", "--no-browser"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var dashURL string
	select {
	case line := <-lines:
		dashURL = regexp.MustCompile(`http://\S+`).FindString(line)
	case <-time.After(30 * time.Second):
		t.Fatal("show printed no URL")
	}
	if !strings.HasPrefix(dashURL, "http://127.0.0.1:") || !strings.Contains(dashURL, "token=") {
		t.Fatalf("URL %q: want loopback with a token", dashURL)
	}
	base := dashURL[:strings.Index(dashURL, "/?")]

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body, status := get(t, client, dashURL, "")
	if status != 200 || !regexp.MustCompile(`data-table="builds"><td class="name">builds</td><td class="n" data-testid="rows">300<`).MatchString(body) {
		t.Errorf("overview: %d, builds with 300 rows not listed", status)
	}
	loads, status := get(t, client, base+"/loads", "")
	if status != 200 || !strings.Contains(loads, "completed_with_errors") || !strings.Contains(loads, "page 2 repeats page 1") ||
		!strings.Contains(loads, "paging") || !strings.Contains(loads, "debug record") {
		t.Errorf("loads page (%d) does not show the failed resource from the trace", status)
	}
	if _, status := get(t, http.DefaultClient, base+"/", ""); status != 403 {
		t.Errorf("without the token: %d, want 403", status)
	}
	if _, status := get(t, client, base+"/", "http://evil.example"); status != 403 {
		t.Errorf("foreign Origin: %d, want 403", status)
	}
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := p.RunningDashboard(); !ok || d.URL != dashURL {
		t.Errorf("running dashboard = %+v, %v; want %s", d, ok, dashURL)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("show: %v", err)
	}
	if _, ok := p.RunningDashboard(); ok {
		t.Error("the dashboard's record outlives it")
	}
}

func get(t *testing.T, c *http.Client, u, origin string) (string, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}
