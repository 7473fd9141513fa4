package cli

// End-to-end tests of the built binary as a person runs it: separate
// processes, real files, a simulator in its own process, signals and locks.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile/duckfiletest"
	"github.com/cfmcp/codefresh-mcp/pipeline/logtest"
)

const (
	e2eCanary = "cfk-CANARY-7f3a9d1e5b"
	// e2eKey is a throwaway key for tests that are not about secrets.
	e2eKey = "cfk-e2e-plain-key"
	// e2eNow pins the simulators' clocks so two of them serve the same data.
	e2eNow = "2024-05-06T08:00:00Z"
)

func TestMain(m *testing.M) {
	if code, holder := duckfiletest.Serve(); holder {
		os.Exit(code)
	}
	code := m.Run()
	if e2eBuild.dir != "" {
		os.RemoveAll(e2eBuild.dir)
	}
	os.Exit(code)
}

// e2eBuild is the binary, built once for every test of this file.
var e2eBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func e2eBinary(t *testing.T) string {
	t.Helper()
	e2eBuild.once.Do(func() {
		e2eBuild.dir, e2eBuild.err = os.MkdirTemp("", "cfmcp-e2e-bin-")
		if e2eBuild.err != nil {
			return
		}
		e2eBuild.bin = filepath.Join(e2eBuild.dir, "codefresh-mcp")
		out, err := exec.Command("go", "build", "-o", e2eBuild.bin, moduleRoot).CombinedOutput()
		if err != nil {
			e2eBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if e2eBuild.err != nil {
		t.Fatal(e2eBuild.err)
	}
	return e2eBuild.bin
}

// e2e is one person's machine: a HOME and TMPDIR of their own, an
// environment built from scratch (nothing inherited from the developer's
// shell: no key, no D-Bus, so no keyring), and every output kept.
type e2e struct {
	t    *testing.T
	bin  string
	home string
	tmp  string
	env  []string // extra KEY=VALUE for every command

	mu      sync.Mutex
	outputs []string          // every stdout and stderr seen, for leak checks
	live    []*logtest.Buffer // outputs of processes still running (simulators)
}

// allOutputs is everything every process of this test printed so far.
func (e *e2e) allOutputs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]string(nil), e.outputs...)
	for _, b := range e.live {
		out = append(out, b.String())
	}
	return out
}

type result struct {
	stdout, stderr string
	code           int   // -1 when it did not exit by itself
	err            error // why it failed to run or exit 0
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", r.code, r.err, r.stdout, r.stderr)
}

func newE2E(t *testing.T, env ...string) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds and runs the binary (not in -short)")
	}
	return &e2e{t: t, bin: e2eBinary(t), home: t.TempDir(), tmp: t.TempDir(), env: env}
}

func (e *e2e) environ() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.home, "TMPDIR=" + e.tmp}
	return append(env, e.env...)
}

func (e *e2e) keep(s string) {
	e.mu.Lock()
	e.outputs = append(e.outputs, s)
	e.mu.Unlock()
}

// run runs the binary in dir and waits for it (at most 45 s). Safe to
// call from several goroutines.
func (e *e2e) run(dir string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Dir, cmd.Env = dir, e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: -1, err: err}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	e.keep(r.stdout)
	e.keep(r.stderr)
	return r
}

// must runs the binary and fails the test unless it exits 0.
func (e *e2e) must(dir string, args ...string) result {
	e.t.Helper()
	r := e.run(dir, args...)
	if r.code != 0 {
		e.t.Fatalf("%v: %s", args, r)
	}
	return r
}

// simulator starts `codefresh-mcp simulate` in its own process with the key
// in $CF_API_KEY, as its help says, and returns its base URL.
func (e *e2e) simulator(key string, args ...string) string {
	e.t.Helper()
	args = append([]string{"simulate", "--addr", "127.0.0.1:0", "--now", e2eNow}, args...)
	cmd := exec.Command(e.bin, args...)
	cmd.Env = append(e.environ(), "CF_API_KEY="+key)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stderr := &logtest.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	rest := &logtest.Buffer{}
	e.mu.Lock()
	e.live = append(e.live, stderr, rest)
	e.mu.Unlock()
	e.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(rest, br)
	}()
	select {
	case base := <-lines:
		if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api") {
			e.t.Fatalf("simulate printed %q first; stderr:\n%s", base, stderr.String())
		}
		return base
	case <-time.After(15 * time.Second):
		e.t.Fatalf("simulate printed no base URL; stderr:\n%s", stderr.String())
	}
	return ""
}

// snapshot is what a load may change in a project's DuckDB file.
type snapshot struct {
	hash   string           // sha256 of the file's bytes
	counts map[string]int64 // rows per dataset table
	loads  int64
	state  string // the newest _dlt_pipeline_state.state
}

func dbPath(dir string) string { return filepath.Join(dir, "codefresh.duckdb") }

func openRO(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := duckfile.Open(context.Background(), dbPath(dir), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	b, err := os.ReadFile(dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	s := snapshot{hash: hex.EncodeToString(sum[:]), counts: map[string]int64{}}
	db := openRO(t, dir)
	defer db.Close()
	for _, name := range datasetTables(t, db) {
		var n int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM codefresh_data.%q`, name)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		s.counts[name] = n
	}
	s.loads = s.counts["_dlt_loads"]
	err = db.QueryRow(`SELECT state FROM codefresh_data._dlt_pipeline_state ORDER BY version DESC, created_at DESC LIMIT 1`).Scan(&s.state)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func datasetTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'codefresh_data' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func (s snapshot) sameData(t *testing.T, other snapshot, what string) {
	t.Helper()
	if fmt.Sprint(s.counts) != fmt.Sprint(other.counts) {
		t.Errorf("%s: row counts changed\nbefore %v\nafter  %v", what, s.counts, other.counts)
	}
	if s.state != other.state {
		t.Errorf("%s: pipeline state changed\nbefore %s\nafter  %s", what, s.state, other.state)
	}
}

// buildsCursor reads the builds cursor out of a state (zero when absent).
func buildsCursor(t *testing.T, state string) (c struct {
	LastValue  string   `json:"last_value"`
	PendingIDs []string `json:"pending_ids"`
}, ok bool) {
	t.Helper()
	var st struct {
		Sources map[string]struct {
			Resources map[string]struct {
				Incremental map[string]json.RawMessage `json:"incremental"`
			} `json:"resources"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(state), &st); err != nil {
		t.Fatalf("state %q: %v", state, err)
	}
	raw, ok := st.Sources["codefresh_source"].Resources["builds"].Incremental["created"]
	if !ok {
		return c, false
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c, true
}

// 1. The README's first command in a fresh project, then a second load.
func TestE2EReadmeDemo(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	dir := t.TempDir()

	// Both loads pin the demo's clock (it defaults to the current hour):
	// across an hour boundary the second would hold other builds.
	r := e.must(dir, "load", "--demo", "--demo-now", e2eNow)
	if !strings.Contains(r.stdout, "is LOADED") {
		t.Fatalf("load --demo: %s", r)
	}
	r = e.must(dir, "query", "SELECT * FROM codefresh_data.pipelines LIMIT 10")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	footer := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "(10 rows, ") {
			footer = i
		}
	}
	// A header line, ten rows, then the footer.
	if footer != 11 || !strings.Contains(lines[0], "_dlt_id") {
		t.Fatalf("query printed no header + 10 rows:\n%s", r.stdout)
	}

	r = e.must(dir, "query", "--json", "SELECT * FROM codefresh_data.pipelines LIMIT 10")
	var q struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&q); err != nil || dec.More() {
		t.Fatalf("query --json is not one JSON object (%v): %s", err, r.stdout)
	}
	if len(q.Columns) < 3 || len(q.Rows) != 10 {
		t.Fatalf("query --json: %d columns, %d rows", len(q.Columns), len(q.Rows))
	}
	for i, row := range q.Rows {
		if len(row) != len(q.Columns) {
			t.Fatalf("row %d has %d values for %d columns", i, len(row), len(q.Columns))
		}
	}

	// From elsewhere, naming the project folder.
	r = e.must(t.TempDir(), "--project", dir, "info")
	for _, table := range []string{"pipelines", "builds", "projects", "_dlt_loads", "_dlt_pipeline_state"} {
		if !containsLineStarting(r.stdout, table+" ") {
			t.Errorf("info lists no table %s:\n%s", table, r.stdout)
		}
	}

	first := takeSnapshot(t, dir)
	e.must(dir, "load", "--demo", "--demo-now", e2eNow)
	second := takeSnapshot(t, dir)
	if first.loads != 1 || second.loads != 2 {
		t.Fatalf("_dlt_loads: %d rows after the first load, %d after the second", first.loads, second.loads)
	}
	// The demo's data is the same each time: replaced tables come back
	// whole, merged ones (builds and their children) without duplicates.
	for table, n := range first.counts {
		if strings.HasPrefix(table, "_dlt_") {
			continue
		}
		if second.counts[table] != n {
			t.Errorf("%s: %d rows after the first load, %d after the second", table, n, second.counts[table])
		}
	}
	db := openRO(t, dir)
	defer db.Close()
	merged := 0
	for _, res := range codefresh.Catalog() {
		if res.WriteDisposition != codefresh.Merge || first.counts[res.Name] == 0 {
			continue
		}
		merged++
		pk := make([]string, len(res.PrimaryKey))
		for i, c := range res.PrimaryKey {
			pk[i] = fmt.Sprintf("%q", c)
		}
		var dups int64
		err := db.QueryRow(fmt.Sprintf(`SELECT count(*) - count(DISTINCT (%s)) FROM codefresh_data.%q`, strings.Join(pk, ", "), res.Name)).Scan(&dups)
		if err != nil {
			t.Fatal(err)
		}
		if dups != 0 {
			t.Errorf("%s: %d duplicate primary keys after two loads", res.Name, dups)
		}
	}
	if merged == 0 {
		t.Fatal("the demo loaded no merge resource: nothing checked for duplicates")
	}
}

func containsLineStarting(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// 2. A canary key through every command a person runs, across processes.
func TestE2ECanaryKey(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eCanary, "CODEFRESH_MCP_LOG_LEVEL=debug")
	good := e.simulator(e2eCanary, "--builds", "300", "--pipelines", "6", "--projects", "3")
	other := e.simulator("cfk-another-key-entirely", "--builds", "50", "--pipelines", "2")
	scoped := e.simulator(e2eCanary, "--builds", "50", "--pipelines", "2", "--scopes", "pipeline:read")
	dir := t.TempDir()

	r := e.must(dir, "--base-url", good, "secrets", "check")
	if !strings.Contains(r.stdout, "OK") || !strings.Contains(r.stdout, "env:CF_API_KEY") || !strings.Contains(r.stdout, "jdoe") {
		t.Fatalf("secrets check: %s", r)
	}
	r = e.must(dir, "--base-url", good, "secrets", "check", "--json")
	if got := checkJSON(t, r.stdout); got.Status != "ok" || got.Source != "env:CF_API_KEY" || len(got.Fingerprint) < 8 ||
		got.cap("builds") != "loadable" || got.cap("pipelines") != "loadable" {
		t.Fatalf("secrets check --json: %s", r.stdout)
	}

	r = e.must(dir, "--base-url", good, "load")
	if !strings.Contains(r.stdout, "is LOADED") {
		t.Fatalf("load: %s", r)
	}
	before := takeSnapshot(t, dir)
	if before.counts["builds"] != 300 || before.counts["pipelines"] != 6 {
		t.Fatalf("loaded %d builds and %d pipelines, the simulator has 300 and 6", before.counts["builds"], before.counts["pipelines"])
	}

	// The key in the environment is not the one this Codefresh accepts.
	r = e.run(dir, "--base-url", other, "load")
	// `secrets set` alone would not help while $CF_API_KEY wins: the error names it.
	if r.code == 0 || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "codefresh-mcp secrets set") ||
		!strings.Contains(r.stderr, "env:CF_API_KEY") {
		t.Fatalf("load with a rejected key: want a non-zero exit naming 401, `secrets set` and where the key came from: %s", r)
	}
	takeSnapshot(t, dir).sameData(t, before, "a load rejected with 401")
	r = e.run(dir, "--base-url", other, "secrets", "check")
	if r.code == 0 || !strings.Contains(r.stdout, "INVALID") || !strings.Contains(r.stderr, "secrets set") {
		t.Fatalf("secrets check of a rejected key: %s", r)
	}

	// A valid key that may read pipelines but not builds.
	r = e.must(dir, "--base-url", scoped, "secrets", "check", "--json")
	got := checkJSON(t, r.stdout)
	if got.cap("builds") != "missing_scope:build:read" || got.cap("pipelines") != "loadable" {
		t.Fatalf("403 matrix: builds %q, pipelines %q\n%s", got.cap("builds"), got.cap("pipelines"), r.stdout)
	}

	r = e.must(dir, "query", "SELECT count(*) AS n FROM builds")
	if !strings.Contains(r.stdout, "300") {
		t.Fatalf("query: %s", r)
	}
	e.must(dir, "query", "--json", "SELECT * FROM pipelines")
	e.must(dir, "info")
	e.must(dir, "info", "--json")
	e.must(dir, "endpoints")

	out := e.serveLines(t, dir, good)
	if !strings.Contains(out[1], `"codefresh-mcp"`) || !strings.Contains(out[2], `"check_credentials"`) ||
		!strings.Contains(out[3], `\"status\":\"ok\"`) || !strings.Contains(out[3], `\"fingerprint\"`) {
		t.Fatalf("serve answered:\n%s\n%s\n%s", out[1], out[2], out[3])
	}

	// Nowhere: not in any output, any file, any value in the database.
	outputs := e.allOutputs()
	if all := strings.Join(outputs, "\n"); !strings.Contains(all, "accepting the key in $CF_API_KEY") || !strings.Contains(all, "serving MCP on stdio") {
		t.Fatalf("the simulators' and the server's own output are not among the %d checked", len(outputs))
	}
	for _, s := range outputs {
		if leaked(s) {
			t.Errorf("canary in an output: %.300q", s)
		}
	}
	for _, root := range []string{dir, e.home, e.tmp} {
		assertNoCanaryInFiles(t, root)
	}
	assertNoCanaryInDuckDB(t, dir)
}

func leaked(s string) bool {
	return strings.Contains(s, e2eCanary) || strings.Contains(s, "CANARY") || strings.Contains(s, "7f3a9d1e5b")
}

type checkResult struct {
	Status       string `json:"status"`
	Source       string `json:"source"`
	Fingerprint  string `json:"fingerprint"`
	Capabilities []struct {
		Resource string `json:"resource"`
		Status   string `json:"status"`
	} `json:"capabilities"`
}

func (c checkResult) cap(name string) string {
	for _, x := range c.Capabilities {
		if x.Resource == name {
			return x.Status
		}
	}
	return ""
}

func checkJSON(t *testing.T, out string) checkResult {
	t.Helper()
	var c checkResult
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("secrets check --json: %v\n%s", err, out)
	}
	return c
}

// serveLines starts `serve` as an agent would, writes JSON-RPC lines one
// answer at a time, and returns the answers by id.
func (e *e2e) serveLines(t *testing.T, dir, base string) map[int]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, "--base-url", base, "serve")
	cmd.Dir, cmd.Env = dir, e.environ()
	stdin, stdout, stderr := logtest.Start(t, cmd)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	answers := map[int]string{}
	send := func(line string, id int) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatalf("write to serve: %v\nstderr:\n%s", err, stderr.String())
		}
		if id == 0 {
			return // a notification has no answer
		}
		for sc.Scan() {
			e.keep(sc.Text())
			var msg struct {
				ID    *int            `json:"id"`
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(sc.Bytes(), &msg) == nil && msg.ID != nil && *msg.ID == id {
				if msg.Error != nil {
					t.Fatalf("serve answered %d with an error: %s", id, sc.Text())
				}
				answers[id] = sc.Text()
				return
			}
		}
		t.Fatalf("serve ended before answering %d (%v)\nstderr:\n%s", id, sc.Err(), stderr.String())
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`, 1)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, 0)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, 2)
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"check_credentials","arguments":{}}}`, 3)
	stdin.Close() // end of the session: the server exits
	for sc.Scan() {
		e.keep(sc.Text())
	}
	err := cmd.Wait()
	e.keep(stderr.String())
	if err != nil {
		t.Fatalf("serve after stdin closed: %v\nstderr:\n%s", err, stderr.String())
	}
	return answers
}

func assertNoCanaryInFiles(t *testing.T, root string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if leaked(string(b)) {
			t.Errorf("canary in file %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	t.Logf("%s: %d files read", root, files)
}

// assertNoCanaryInDuckDB reads every value of every table as text: DuckDB
// compresses strings, so the bytes of the file alone prove little.
func assertNoCanaryInDuckDB(t *testing.T, dir string) {
	t.Helper()
	db := openRO(t, dir)
	defer db.Close()
	rows, err := db.Query(`SELECT schema_name, table_name, column_name FROM duckdb_columns() WHERE database_name = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ schema, table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.schema, &c.table, &c.column); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	if len(cols) < 100 {
		t.Fatalf("only %d columns in the database", len(cols))
	}
	for _, c := range cols {
		var n int64
		q := fmt.Sprintf(`SELECT count(*) FROM %q.%q WHERE contains(CAST(%q AS VARCHAR), 'CANARY') OR contains(CAST(%q AS VARCHAR), '7f3a9d1e5b')`,
			c.schema, c.table, c.column, c.column)
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s.%s.%s: %v", c.schema, c.table, c.column, err)
		}
		if n > 0 {
			t.Errorf("canary in %s.%s.%s (%d rows)", c.schema, c.table, c.column, n)
		}
	}
	t.Logf("%d columns read as text", len(cols))
}

// interruptLoad starts a load against base and sends sig once its progress
// lines on stderr say it is listing builds; it returns what the load
// printed on stderr and how it ended.
func (e *e2e) interruptLoad(t *testing.T, dir, base string, sig syscall.Signal) (string, *os.ProcessState) {
	t.Helper()
	out, ps := e.interruptAt(t, dir, base, sig, "extract builds")
	if strings.Contains(out, "\ncommit") {
		t.Fatalf("%v arrived after extraction, not during it:\n%s", sig, out)
	}
	return out, ps
}

// interruptAt starts a load and sends sig when a stderr line starts with at.
func (e *e2e) interruptAt(t *testing.T, dir, base string, sig syscall.Signal, at string) (string, *os.ProcessState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, "--base-url", base, "load")
	cmd.Dir, cmd.Env = dir, e.environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	sent := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if !sent && strings.HasPrefix(sc.Text(), at) {
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
	}
	err = cmd.Wait()
	e.keep(seen.String())
	if !sent {
		t.Fatalf("the load never reached %q (%v):\n%s", at, err, seen.String())
	}
	return seen.String(), cmd.ProcessState
}

// 3. A load stopped in the middle of extraction, by SIGKILL or Ctrl-C, loses nothing.
func TestE2EKilledLoad(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eKey)
	fast := e.simulator(e2eKey, "--builds", "1500", "--pipelines", "6")
	slow := e.simulator(e2eKey, "--builds", "1500", "--pipelines", "6", "--latency", "200ms")
	dir := t.TempDir()
	e.must(dir, "--base-url", fast, "load")
	before := takeSnapshot(t, dir)
	unchanged := func(what string) {
		t.Helper()
		after := takeSnapshot(t, dir)
		if after.hash != before.hash {
			t.Errorf("%s changed the bytes of codefresh.duckdb", what)
		}
		after.sameData(t, before, what)
		if _, err := os.Stat(dbPath(dir) + ".wal"); err == nil {
			t.Errorf("%s left a write-ahead log next to codefresh.duckdb", what)
		}
	}

	_, ps := e.interruptLoad(t, dir, slow, syscall.SIGKILL)
	if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the load was not killed (it ended first?): %v", ps)
	}
	unchanged("a load killed while extracting")
	// Nothing can clean up after SIGKILL; say what stays behind.
	left, _ := filepath.Glob(filepath.Join(e.tmp, "cfmcp-stage-*"))
	t.Logf("after SIGKILL, staging folders left in $TMPDIR: %v", left)
	for _, d := range left {
		os.RemoveAll(d)
	}

	// Ctrl-C: the load says it was cancelled, exits non-zero and cleans up.
	stderr, ps := e.interruptLoad(t, dir, slow, syscall.SIGINT)
	if ps.ExitCode() == 0 || !strings.Contains(stderr, "load cancelled") {
		t.Fatalf("load after Ctrl-C: exit %d\n%s", ps.ExitCode(), stderr)
	}
	unchanged("a load cancelled with Ctrl-C")
	if left, _ := filepath.Glob(filepath.Join(e.tmp, "cfmcp-stage-*")); len(left) > 0 {
		t.Errorf("a load cancelled with Ctrl-C left its staging folder: %v", left)
	}

	r := e.must(dir, "--base-url", fast, "load")
	if !strings.Contains(r.stdout, "is LOADED") {
		t.Fatalf("load after the interruptions: %s", r)
	}
	final := takeSnapshot(t, dir)
	if final.loads != before.loads+1 || final.counts["builds"] != 1500 {
		t.Fatalf("after the next load: %d loads (want %d), %d builds (want 1500)", final.loads, before.loads+1, final.counts["builds"])
	}
}

// A load killed (SIGKILL) at its first request or during its commit leaves
// the database as it was or with the whole load, never half of it; the next
// load is then exact.
func TestE2EKilledEarlyOrDuringCommit(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eKey)
	sim := e.simulator(e2eKey, "--builds", "3000", "--pipelines", "6")
	dir := t.TempDir()
	e.must(dir, "--base-url", sim, "load", "--resources", "pipelines")
	before := takeSnapshot(t, dir)
	for _, at := range []string{"extract user", "commit"} {
		_, ps := e.interruptAt(t, dir, sim, syscall.SIGKILL, at)
		if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("killed at %q: the load ended first: %v", at, ps)
		}
		after := takeSnapshot(t, dir)
		switch {
		case after.loads == before.loads:
			after.sameData(t, before, "a load killed at "+at)
		case after.loads == before.loads+1 && after.counts["builds"] == 3000:
			t.Logf("killed at %q: the commit had completed", at)
			before = after
		default:
			t.Fatalf("killed at %q: %d loads (before %d), %d builds: a partial commit", at, after.loads, before.loads, after.counts["builds"])
		}
		left, _ := filepath.Glob(filepath.Join(e.tmp, "cfmcp-stage-*"))
		for _, d := range left {
			os.RemoveAll(d)
		}
	}
	e.must(dir, "--base-url", sim, "load")
	if final := takeSnapshot(t, dir); final.counts["builds"] != 3000 {
		t.Fatalf("after a clean load: %d builds, want 3000", final.counts["builds"])
	}
}

// loadedE2E is a project loaded once from a small simulator (100 builds,
// 3 pipelines): the simulator's URL, the project folder and its snapshot.
func loadedE2E(t *testing.T) (e *e2e, base, dir string, before snapshot) {
	t.Helper()
	e = newE2E(t, "CF_API_KEY="+e2eKey)
	base = e.simulator(e2eKey, "--builds", "100", "--pipelines", "3")
	dir = t.TempDir()
	e.must(dir, "--base-url", base, "load")
	return e, base, dir, takeSnapshot(t, dir)
}

// 4. Another process holds the DuckDB file.
func TestE2ELockedFile(t *testing.T) {
	t.Parallel()
	e, base, dir, before := loadedE2E(t)

	holder, release := duckfiletest.Start(t, dbPath(dir), 0)
	pid := fmt.Sprintf("PID %d", holder)

	// Both wait the bounded time, so run them side by side.
	var query, load result
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); query = e.run(dir, "query", "SELECT count(*) FROM pipelines") }()
	go func() { defer wg.Done(); load = e.run(dir, "--base-url", base, "load") }()
	wg.Wait()
	for name, r := range map[string]result{"query": query, "load": load} {
		if r.code == 0 || !strings.Contains(r.stderr, "locked by another process") || !strings.Contains(r.stderr, pid) {
			t.Errorf("%s on a locked file: want a non-zero exit naming the holder's %s: %s", name, pid, r)
		}
	}
	release()

	takeSnapshot(t, dir).sameData(t, before, "commands refused by the lock")
	r := e.must(dir, "query", "SELECT count(*) AS n FROM pipelines")
	if !strings.Contains(r.stdout, "3") {
		t.Fatalf("query after the lock: %s", r)
	}
	e.must(dir, "--base-url", base, "load")
	if got := takeSnapshot(t, dir).loads; got != before.loads+1 {
		t.Fatalf("%d loads after the lock was released, want %d", got, before.loads+1)
	}
}

// 5. Hostile SQL through the CLI: refused, and nothing changes.
func TestE2EHostileQueries(t *testing.T) {
	t.Parallel()
	e, _, dir, before := loadedE2E(t)
	outside := t.TempDir()
	csv, exported, attached := filepath.Join(outside, "leak.csv"), filepath.Join(outside, "export"), filepath.Join(outside, "other.duckdb")

	const single, sandbox = "only a single", "file, network and extension access is disabled"
	for _, c := range []struct{ sql, want string }{
		{"DROP TABLE codefresh_data.pipelines", single},
		{"SELECT 1; DROP TABLE codefresh_data.pipelines", single},
		{"DELETE FROM codefresh_data.builds", single},
		{"UPDATE codefresh_data.pipelines SET kind = 'x'", single},
		{"CREATE TABLE codefresh_data.x AS SELECT 1", single},
		{"COPY codefresh_data.pipelines TO '" + csv + "'", sandbox},
		{"COPY (SELECT * FROM codefresh_data.pipelines) TO '" + csv + "' (FORMAT csv)", sandbox},
		{"EXPORT DATABASE '" + exported + "'", sandbox},
		{"ATTACH '" + attached + "' AS other", single},
		{"SELECT * FROM read_csv('/etc/passwd')", sandbox},
		{"SELECT * FROM read_text('/etc/passwd')", sandbox},
		{"SELECT * FROM sniff_csv('/etc/passwd')", "not allowed"},
		{"SELECT * FROM '/etc/passwd'", sandbox},
		{"SET enable_external_access = true", single},
		{"INSTALL httpfs", single},
	} {
		r := e.run(dir, "query", c.sql)
		if r.code == 0 || !strings.HasPrefix(r.stderr, "error: ") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: want a non-zero exit and an error saying %q: %s", c.sql, c.want, r)
		}
		if strings.Contains(r.stdout+r.stderr, "root:") {
			t.Errorf("%s: /etc/passwd was read: %s", c.sql, r)
		}
	}
	for _, p := range []string{csv, exported, attached} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused query wrote %s", p)
		}
	}
	after := takeSnapshot(t, dir)
	if after.hash != before.hash {
		t.Error("refused queries changed the bytes of codefresh.duckdb")
	}
	after.sameData(t, before, "refused queries")
}

// 6. --dry-run commits nothing; --max-pages does not move the builds cursor.
func TestE2EDryRunAndMaxPages(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "CF_API_KEY="+e2eKey)
	base := e.simulator(e2eKey, "--builds", "800", "--pipelines", "4")
	dir := t.TempDir()

	r := e.must(dir, "--base-url", base, "load", "--dry-run")
	if !strings.Contains(r.stdout, "nothing committed") || !strings.Contains(r.stdout, "builds ") {
		t.Fatalf("load --dry-run: %s", r)
	}
	if _, err := os.Stat(dbPath(dir)); err == nil {
		t.Fatal("a dry run created codefresh.duckdb")
	}

	// A first quick look reads the newest page of builds: committing the
	// cursor would make the next load skip every older build.
	e.must(dir, "--base-url", base, "load", "--max-pages", "1")
	quick := takeSnapshot(t, dir)
	if n := quick.counts["builds"]; n == 0 || n >= 800 {
		t.Fatalf("load --max-pages 1 loaded %d builds, want one page", n)
	}
	if c, ok := buildsCursor(t, quick.state); ok && c.LastValue != "" {
		t.Fatalf("load --max-pages 1 set the builds cursor to %q", c.LastValue)
	}

	e.must(dir, "--base-url", base, "load")
	full := takeSnapshot(t, dir)
	cur, ok := buildsCursor(t, full.state)
	if !ok || cur.LastValue == "" || full.counts["builds"] != 800 {
		t.Fatalf("full load: %d builds, cursor %+v", full.counts["builds"], cur)
	}

	r = e.must(dir, "--base-url", base, "load", "--dry-run")
	if !strings.Contains(r.stdout, "nothing committed") {
		t.Fatalf("load --dry-run: %s", r)
	}
	dry := takeSnapshot(t, dir)
	if dry.hash != full.hash {
		t.Error("a dry run changed the bytes of codefresh.duckdb")
	}
	dry.sameData(t, full, "a dry run")

	// --json: stdout is the load info alone (progress goes to stderr).
	r = e.must(dir, "--base-url", base, "load", "--max-pages", "1", "--json")
	var info struct {
		LoadID    string `json:"load_id"`
		Resources []struct {
			Name  string `json:"name"`
			Pages int    `json:"pages"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info.LoadID == "" {
		t.Fatalf("load --json (%v): %s", err, r)
	}
	for _, res := range info.Resources {
		if res.Name == "builds" && res.Pages != 1 {
			t.Errorf("load --max-pages 1 read %d pages of builds", res.Pages)
		}
	}
	again := takeSnapshot(t, dir)
	if again.loads != full.loads+1 {
		t.Fatalf("load --max-pages 1 committed no load (%d loads)", again.loads)
	}
	// Replaced resources keep only the pages read (dlt's add_limit does the same).
	t.Logf("images: %d rows after the full load, %d after --max-pages 1", full.counts["images"], again.counts["images"])
	if c, _ := buildsCursor(t, again.state); c.LastValue != cur.LastValue || fmt.Sprint(c.PendingIDs) != fmt.Sprint(cur.PendingIDs) {
		t.Fatalf("load --max-pages 1 moved the builds cursor\nfrom %+v\nto   %+v", cur, c)
	}
}
