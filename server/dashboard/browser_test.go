package dashboard

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium looks for a Chromium to drive: $CHROMIUM, then the usual names.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser opens every page in a real headless Chromium, checks what it
// shows against SQL over the same file, runs a query and a hostile one from
// the page, and saves a screenshot of each page in the test's temp dir
// (and in $CODEFRESH_MCP_SCREENSHOTS when set: the README's picture).
func TestBrowser(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and no Chromium found: .ci/run installs Debian's chromium (or set CHROMIUM=/path)")
		}
		t.Skip("no Chromium found (apt-get install chromium, or set CHROMIUM=/path); this test runs in CI")
	}
	// Expected numbers first: the file is closed again before the dashboard reads it.
	tables := tableCounts(t, demoDir)
	delete(tables, "all")
	statuses := queryCounts(t, demoDir, "SELECT status, count(*) FROM codefresh_data.builds GROUP BY 1")
	loads := queryCounts(t, demoDir, "SELECT 'n', count(*) FROM codefresh_data._dlt_loads")["n"]

	s := serve(t, demoDir, nil)
	shots := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string, full bool) {
		t.Helper()
		action := chromedp.CaptureScreenshot()
		if full {
			action = chromedp.FullScreenshot(100)
		}
		png, err := chromedp.Run(bctx, action)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(shots, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("CODEFRESH_MCP_SCREENSHOTS"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshot %s (%d KB)", path, len(png)>>10)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	// Overview: every data table with its SQL row count; the token has left the address.
	do("overview", chromedp.Navigate(s.url), chromedp.WaitVisible(css(`[data-testid=tables]`)))
	shown := eval[map[string]string](t, bctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=tables] tr[data-table]')].map(r => [r.dataset.table, r.querySelector('[data-testid=rows]').textContent]))`)
	if href := eval[string](t, bctx, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the token stays in the address bar: %s", href)
	}
	if len(shown) != len(tables) {
		t.Errorf("overview shows %d tables, the dataset has %d", len(shown), len(tables))
	}
	for name, n := range tables {
		if got := strings.ReplaceAll(shown[name], ",", ""); got != strconv.FormatInt(n, 10) {
			t.Errorf("overview %s: %q rows, SQL %d", name, shown[name], n)
		}
	}
	shot("overview", false)

	do("loads", chromedp.Navigate(s.base+"/loads"), chromedp.WaitVisible(css(`[data-testid=load]`)))
	if n := eval[int64](t, bctx, `document.querySelectorAll('[data-testid=load]').length`); n != loads {
		t.Errorf("loads page lists %d loads, _dlt_loads has %d", n, loads)
	}
	shot("loads", true)
	do("schema", chromedp.Navigate(s.base+"/schema"), chromedp.WaitVisible(css(`[data-testid=schema-changes]`)))
	if n := eval[int](t, bctx, `document.querySelectorAll('[data-testid=schema-table]').length`); n != len(tables) {
		t.Errorf("schema page lists %d tables, want %d", n, len(tables))
	}
	shot("schema", false)

	// CI insights: builds per status as SQL counts them; the hostile commit message is text.
	do("ci", chromedp.Navigate(s.base+"/ci"), chromedp.WaitVisible(css(`[data-testid=builds-chart]`)))
	byStatus := eval[map[string]string](t, bctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=by-status] tr[data-status]')].map(r => [r.dataset.status, r.querySelector('[data-testid=count]').textContent]))`)
	for st, n := range statuses {
		if byStatus[st] != strconv.FormatInt(n, 10) {
			t.Errorf("ci %s: %q builds, SQL %d", st, byStatus[st], n)
		}
	}
	message := eval[string](t, bctx, `document.querySelector('[data-testid=commit-message]').textContent`)
	scripts := eval[int](t, bctx, `document.scripts.length + document.querySelectorAll('main img, [onerror]').length`)
	xss := eval[bool](t, bctx, `window.__xss !== undefined`)
	if !strings.HasPrefix(message, hostileMessage) || scripts != 0 || xss {
		t.Errorf("commit message not shown as text: %q, %d script or injected elements, ran %v", message, scripts, xss)
	}
	if bars := eval[int](t, bctx, `document.querySelectorAll('[data-testid=builds-chart] rect').length`); bars < 30 {
		t.Errorf("chart has %d bar segments", bars)
	}
	shot("ci", true)

	// Query box: a statement and its rows, then hostile ones refused on the page.
	do("query", chromedp.Navigate(s.base+"/query"), chromedp.WaitVisible(css(`[data-testid=sql]`)),
		chromedp.SetValue(css(`[data-testid=sql]`), "SELECT status, count(*) AS n FROM codefresh_data.builds GROUP BY 1 ORDER BY 1"),
		chromedp.Click(css(`[data-testid=run]`)),
		chromedp.WaitVisible(css(`[data-testid=result]`)))
	result := eval[map[string]string](t, bctx, `Object.fromEntries([...document.querySelectorAll('[data-testid=result] tbody tr')].map(r => [r.cells[0].textContent, r.cells[1].textContent]))`)
	for st, n := range statuses {
		if result[st] != strconv.FormatInt(n, 10) {
			t.Errorf("query %s: %q, SQL %d", st, result[st], n)
		}
	}
	shot("query", false)
	for i, hostile := range []string{"SELECT * FROM read_text('/etc/passwd')", "COPY codefresh_data.builds TO '/tmp/dashboard-exfil.csv'"} {
		do("hostile query", chromedp.Navigate(s.base+"/query"), chromedp.WaitVisible(css(`[data-testid=sql]`)),
			chromedp.SetValue(css(`[data-testid=sql]`), hostile),
			chromedp.Click(css(`[data-testid=run]`)),
			chromedp.WaitVisible(css(`[data-testid=refused]`)))
		refused := eval[string](t, bctx, `document.querySelector('[data-testid=refused]').textContent`)
		body := eval[string](t, bctx, `document.body.textContent`)
		if !strings.Contains(refused, "Refused") || strings.Contains(body, "root:x:0:0") {
			t.Errorf("%q: %q", hostile, refused)
		}
		if i == 0 {
			shot("query-refused", false)
		}
	}
	if _, err := os.Stat("/tmp/dashboard-exfil.csv"); err == nil {
		t.Error("COPY wrote a file")
	}
}

// eval runs a JavaScript expression in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}
