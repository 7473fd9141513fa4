package cli

// Scheduled loads: the deployment recipes under deploy/ (parsed, and their
// codefresh-mcp command lines run against the simulator and a test
// database), --lock-timeout against a real holder of the destination, and
// the one-line summary.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gopkg.in/yaml.v3"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile/duckfiletest"
)

// codefreshRecipe is the part of Codefresh's pipeline spec (version "1.0",
// kind pipeline) the recipe uses; a field outside it fails the decoding.
type codefreshRecipe struct {
	Version  string `yaml:"version"`
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string `yaml:"name"`
		Project     string `yaml:"project"`
		Description string `yaml:"description"`
	} `yaml:"metadata"`
	Spec struct {
		CronTriggers []struct {
			Name       string `yaml:"name"`
			Type       string `yaml:"type"`
			Expression string `yaml:"expression"`
			Message    string `yaml:"message"`
			Disabled   bool   `yaml:"disabled"`
		} `yaml:"cronTriggers"`
		Contexts    []string `yaml:"contexts"`
		Concurrency int      `yaml:"concurrency"`
		Variables   []struct {
			Key   string `yaml:"key"`
			Value string `yaml:"value"`
		} `yaml:"variables"`
		Steps map[string]struct {
			Title       string   `yaml:"title"`
			Type        string   `yaml:"type"`
			Image       string   `yaml:"image"`
			Environment []string `yaml:"environment"`
			Commands    []string `yaml:"commands"`
		} `yaml:"steps"`
	} `yaml:"spec"`
}

// actionsRecipe is the part of a GitHub Actions workflow the recipe uses.
type actionsRecipe struct {
	Name string `yaml:"name"`
	On   struct {
		Schedule []struct {
			Cron string `yaml:"cron"`
		} `yaml:"schedule"`
		WorkflowDispatch map[string]any `yaml:"workflow_dispatch"`
	} `yaml:"on"`
	Concurrency struct {
		Group            string `yaml:"group"`
		CancelInProgress bool   `yaml:"cancel-in-progress"`
	} `yaml:"concurrency"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		RunsOn         string            `yaml:"runs-on"`
		TimeoutMinutes int               `yaml:"timeout-minutes"`
		Env            map[string]string `yaml:"env"`
		Steps          []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// recipe is what a deployment recipe hands the loader: its schedule, the
// environment of the step that runs it (values as written) and its lines.
type recipe struct {
	file    string
	cron    string
	env     map[string]string
	install []string // lines that install codefresh-mcp
	runs    []string // codefresh-mcp command lines
}

func decodeStrict(t *testing.T, file string, into any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return b
}

// splitLines files a step's command lines: installs and loader runs; any
// other line fails the test (the recipe does nothing else).
func (r *recipe) splitLines(t *testing.T, lines []string) {
	t.Helper()
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "go install "):
			r.install = append(r.install, l)
		case strings.HasPrefix(l, "codefresh-mcp "):
			r.runs = append(r.runs, l)
		default:
			t.Errorf("%s: unexpected command %q", r.file, l)
		}
	}
}

func readCodefreshRecipe(t *testing.T) (recipe, []byte) {
	var cf codefreshRecipe
	raw := decodeStrict(t, "deploy/codefresh.yml", &cf)
	r := recipe{file: "deploy/codefresh.yml", env: map[string]string{}}
	if cf.Version != "1.0" || cf.Kind != "pipeline" || cf.Metadata.Name == "" || cf.Metadata.Project == "" ||
		!strings.HasPrefix(cf.Metadata.Name, cf.Metadata.Project+"/") {
		t.Errorf("%s: version %q kind %q name %q project %q: want a version 1.0 pipeline named project/name",
			r.file, cf.Version, cf.Kind, cf.Metadata.Name, cf.Metadata.Project)
	}
	if len(cf.Spec.CronTriggers) != 1 || cf.Spec.CronTriggers[0].Type != "cron" || cf.Spec.CronTriggers[0].Disabled ||
		cf.Spec.CronTriggers[0].Name == "" || cf.Spec.CronTriggers[0].Message == "" {
		t.Fatalf("%s: want one enabled, named cron trigger with a message: %+v", r.file, cf.Spec.CronTriggers)
	}
	r.cron = cf.Spec.CronTriggers[0].Expression
	if len(cf.Spec.Contexts) != 1 || cf.Spec.Concurrency != 1 {
		t.Errorf("%s: contexts %v, concurrency %d: want the one shared secret context and one build at a time",
			r.file, cf.Spec.Contexts, cf.Spec.Concurrency)
	}
	variables := map[string]bool{}
	for _, v := range cf.Spec.Variables {
		variables[v.Key] = true
	}
	if len(cf.Spec.Steps) != 1 {
		t.Fatalf("%s: %d steps, want one", r.file, len(cf.Spec.Steps))
	}
	ref := regexp.MustCompile(`^\$\{\{([A-Z_][A-Z0-9_]*)\}\}$`)
	for name, st := range cf.Spec.Steps {
		if st.Type != "freestyle" || st.Image == "" || st.Title == "" {
			t.Errorf("%s: step %s: type %q image %q title %q: want a titled freestyle step with an image", r.file, name, st.Type, st.Image, st.Title)
		}
		for _, kv := range st.Environment {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("%s: environment entry %q is not KEY=VALUE", r.file, kv)
			}
			r.env[k] = v
		}
		// The secrets come from the shared context: a ${{VAR}} the
		// pipeline's own variables do not define.
		for _, k := range []string{"CF_API_KEY", "DESTINATION__POSTGRES__CREDENTIALS"} {
			m := ref.FindStringSubmatch(r.env[k])
			if m == nil || variables[m[1]] {
				t.Errorf("%s: %s = %q: want ${{VAR}} from the shared secret context", r.file, k, r.env[k])
			}
		}
		r.splitLines(t, st.Commands)
	}
	return r, raw
}

func readActionsRecipe(t *testing.T) (recipe, []byte) {
	var gh actionsRecipe
	raw := decodeStrict(t, "deploy/github-actions.yml", &gh)
	r := recipe{file: "deploy/github-actions.yml", env: map[string]string{}}
	if len(gh.On.Schedule) != 1 {
		t.Fatalf("%s: %d schedules, want one", r.file, len(gh.On.Schedule))
	}
	r.cron = gh.On.Schedule[0].Cron
	if gh.Concurrency.Group == "" || gh.Concurrency.CancelInProgress {
		t.Errorf("%s: concurrency %+v: want a group that queues runs, never cancels a load", r.file, gh.Concurrency)
	}
	if len(gh.Jobs) != 1 {
		t.Fatalf("%s: %d jobs, want one", r.file, len(gh.Jobs))
	}
	secret := regexp.MustCompile(`^\$\{\{ secrets\.[A-Z_][A-Z0-9_]* \}\}$`)
	for name, job := range gh.Jobs {
		if job.RunsOn == "" || job.TimeoutMinutes <= 0 {
			t.Errorf("%s: job %s: runs-on %q timeout %d", r.file, name, job.RunsOn, job.TimeoutMinutes)
		}
		for _, st := range job.Steps {
			before := len(r.runs)
			r.splitLines(t, strings.Split(st.Run, "\n"))
			if len(r.runs) == before {
				if len(st.Env) > 0 {
					t.Errorf("%s: step %q has env but runs no loader", r.file, st.Name)
				}
				continue
			}
			for k, v := range st.Env {
				r.env[k] = v
			}
			for _, k := range []string{"CF_API_KEY", "DESTINATION__POSTGRES__CREDENTIALS"} {
				if !secret.MatchString(r.env[k]) {
					t.Errorf("%s: %s = %q: want ${{ secrets.NAME }}", r.file, k, r.env[k])
				}
			}
		}
	}
	return r, raw
}

// checkRecipe checks what every recipe must do: a valid five-field
// schedule, an install of this module, and loads bounded by --lock-timeout
// that print the summary line, with no shell syntax around them (the test
// runs them as written, the environment standing in for the secrets).
func checkRecipe(t *testing.T, r recipe) {
	t.Helper()
	field := regexp.MustCompile(`^[0-9*,/-]+$`)
	fields := strings.Fields(r.cron)
	if len(fields) != 5 {
		t.Errorf("%s: cron %q: want five fields", r.file, r.cron)
	}
	for _, f := range fields {
		if !field.MatchString(f) {
			t.Errorf("%s: cron %q: field %q", r.file, r.cron, f)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := strings.TrimPrefix(strings.SplitN(string(gomod), "\n", 2)[0], "module ")
	if len(r.install) != 1 || !strings.Contains(r.install[0], " "+module+"@") && !strings.Contains(r.install[0], `"`+module+"@") {
		t.Errorf("%s: install lines %q: want one `go install %s@VERSION`", r.file, r.install, module)
	}
	if len(r.runs) == 0 {
		t.Fatalf("%s runs no codefresh-mcp command", r.file)
	}
	for _, run := range r.runs {
		if strings.ContainsAny(run, "$'\"|;&<>`\\") {
			t.Errorf("%s: %q: shell syntax in a loader command line", r.file, run)
		}
		for _, flag := range []string{" load ", " --destination postgres", " --lock-timeout ", " --summary-line"} {
			if !strings.Contains(run+" ", flag) {
				t.Errorf("%s: %q lacks %q", r.file, run, strings.TrimSpace(flag))
			}
		}
	}
}

// summaryRe is the one line a load prints with --summary-line.
var summaryRe = regexp.MustCompile(`^codefresh-mcp load \d+\.\d{6}: succeeded, (\d+) tables, ([\d,]+) rows, \d+\.\d s\n$`)

// The two deployment recipes parse as what they claim to be, appear in the
// README as they are, and their loader command lines, run as written with
// the simulator's URL and key and a test database in the environment,
// load: the summary line's figures equal the rows in the dataset.
func TestScheduledRecipes(t *testing.T) {
	t.Parallel()
	readme := readReadme(t)
	cf, cfRaw := readCodefreshRecipe(t)
	gh, ghRaw := readActionsRecipe(t)
	for _, r := range []struct {
		recipe
		raw []byte
	}{{cf, cfRaw}, {gh, ghRaw}} {
		checkRecipe(t, r.recipe)
		if !strings.Contains(readme, "```yaml\n"+string(r.raw)+"```\n") {
			t.Errorf("README.md does not show %s as it is", r.file)
		}
	}
	if t.Failed() {
		return
	}

	dsn, why := pgtest.Lookup(t)
	e := newE2E(t, "CF_API_KEY="+e2eCanary)
	base := e.simulator(e2eCanary, "--builds", "100", "--pipelines", "3")
	e.env = append(e.env, "CODEFRESH_BASE_URL="+base)
	if dsn != "" {
		e.env = append(e.env, "DESTINATION__POSTGRES__CREDENTIALS="+dsn)
	} else {
		t.Logf("the recipes' loads go to DuckDB: %s", why)
	}
	for _, r := range []recipe{cf, gh} {
		dir := t.TempDir()
		var count func() (tables, rows int64)
		if dsn != "" {
			ds := pgtest.Dataset(t, dsn)
			writeFile(t, filepath.Join(dir, "codefresh_pipeline.toml"), fmt.Sprintf("dataset_name = %q\n", ds))
			count = func() (int64, int64) { return pgDatasetRows(t, dsn, ds) }
		} else {
			count = func() (int64, int64) { return duckDatasetRows(t, dir) }
		}
		for i, run := range r.runs {
			args := strings.Fields(run)[1:]
			if dsn == "" {
				args = strings.Fields(strings.Replace(strings.Join(args, " "), "--destination postgres", "--destination duckdb", 1))
			}
			res := e.run(dir, args...)
			if res.code != 0 {
				t.Fatalf("%s: %q: %s", r.file, run, res)
			}
			m := summaryRe.FindStringSubmatch(res.stdout)
			if m == nil {
				t.Fatalf("%s: %q printed %q, want one summary line", r.file, run, res.stdout)
			}
			if i == 0 { // a first load into a fresh dataset: everything it holds is this load's
				tables, rows := count()
				if want := fmt.Sprintf("%d tables, %s rows", tables, thousands(rows)); !strings.Contains(res.stdout, want) {
					t.Errorf("%s: summary %q, the dataset holds %s", r.file, strings.TrimSpace(res.stdout), want)
				}
			}
		}
	}
	for _, out := range e.allOutputs() {
		if strings.Contains(out, e2eCanary) {
			t.Fatalf("the key appeared in an output:\n%s", out)
		}
	}
}

// duckDatasetRows counts the data tables (not dlt's _dlt_ tables) of a
// project's DuckDB file and their rows.
func duckDatasetRows(t *testing.T, dir string) (tables, rows int64) {
	t.Helper()
	db := openRO(t, dir)
	defer db.Close()
	for _, name := range datasetTables(t, db) {
		if strings.HasPrefix(name, "_dlt_") {
			continue
		}
		var n int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM codefresh_data.%q`, name)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables, rows = tables+1, rows+n
	}
	return tables, rows
}

// pgDatasetRows is duckDatasetRows for a PostgreSQL schema.
func pgDatasetRows(t *testing.T, dsn, schema string) (tables, rows int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var names []string
	rs, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename NOT LIKE '\_dlt\_%' ORDER BY 1`, schema)
	if err == nil {
		names, err = pgx.CollectRows(rs, pgx.RowTo[string])
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var n int64
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.%s`, pgx.Identifier{schema}.Sanitize(), pgx.Identifier{name}.Sanitize())).Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables, rows = tables+1, rows+n
	}
	return tables, rows
}

// started is a command of the binary running in the background.
type started struct {
	pid  int
	wait func() result
}

// start runs the binary in dir without waiting for it (at most 2 minutes).
func (e *e2e) start(dir string, args ...string) started {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Dir, cmd.Env = dir, e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		e.t.Fatal(err)
	}
	return started{pid: cmd.Process.Pid, wait: func() result {
		defer cancel()
		err := cmd.Wait()
		r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode(), err: err}
		e.keep(r.stdout)
		e.keep(r.stderr)
		return r
	}}
}

// until polls cond every 20 ms for at most a minute.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("no %s within a minute", what)
}

// failedSummary is the one line of a load that gave up on the lock.
var failedSummary = regexp.MustCompile(`^codefresh-mcp load \d+\.\d{6}: failed \(lock\), nothing committed, \d+\.\d s\n$`)

// A scheduled load while another process holds the DuckDB file: with
// --lock-timeout it waits, then exits 4 naming the holder, and the file is
// unchanged; when the holder lets go while it waits, it loads.
func TestE2EScheduledLoadLockTimeout(t *testing.T) {
	t.Parallel()
	e, base, dir, before := loadedE2E(t)

	holder, release := duckfiletest.Start(t, dbPath(dir), 0)
	r := e.run(dir, "--base-url", base, "load", "--lock-timeout", "1500ms", "--summary-line")
	if r.code != exitLocked || !strings.Contains(r.stderr, "locked by another process") ||
		!strings.Contains(r.stderr, fmt.Sprintf("PID %d", holder)) || !failedSummary.MatchString(r.stdout) {
		t.Fatalf("load on a held file: want exit %d, the holder's PID %d and a failed summary line: %s", exitLocked, holder, r)
	}
	release()
	takeSnapshot(t, dir).sameData(t, before, "a load that gave up on the lock")

	_, release = duckfiletest.Start(t, dbPath(dir), 0)
	load := e.start(dir, "--base-url", base, "load", "--lock-timeout", "2m", "--summary-line")
	started := time.Now()
	// A waiting process leaves a marker beside the file (duckfile.Waiting).
	until(t, "wait marker of the load", func() bool {
		m, _ := filepath.Glob(dbPath(dir) + fmt.Sprintf(".wait-%d-*", load.pid))
		return len(m) > 0
	})
	// Held past the wait a load has without the flag: only --lock-timeout
	// keeps this one waiting.
	time.Sleep(duckfile.DefaultWait + time.Second - time.Since(started))
	release()
	if r := load.wait(); r.code != 0 || !summaryRe.MatchString(r.stdout) {
		t.Fatalf("load whose holder let go in time: %s", r)
	}
	if got := takeSnapshot(t, dir).loads; got != before.loads+1 {
		t.Fatalf("%d loads, want %d", got, before.loads+1)
	}
}

// The same against the shared PostgreSQL: another session holds the
// dataset's load lock (as another machine's load does while committing).
func TestE2EScheduledLoadLockTimeoutPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ds := pgtest.Dataset(t, dsn)
	e := newE2E(t, "CF_API_KEY="+e2eKey, "DESTINATION__POSTGRES__CREDENTIALS="+dsn)
	base := e.simulator(e2eKey, "--builds", "100", "--pipelines", "3")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "codefresh_pipeline.toml"), fmt.Sprintf("dataset_name = %q\n\n[destination]\ntype = \"postgres\"\n", ds))
	e.must(dir, "--base-url", base, "load")
	loads := func() int64 {
		var n int64
		pgQueryRow(t, dsn, fmt.Sprintf(`SELECT count(*) FROM %s._dlt_loads`, pgx.Identifier{ds}.Sanitize()), &n)
		return n
	}

	const app = "nightly export (test holder)"
	backend, release := pgtest.HoldAdvisoryLock(t, dsn, postgres.LoadLockKey(ds), app)
	r := e.run(dir, "--base-url", base, "load", "--lock-timeout", "1s", "--summary-line")
	for _, want := range []string{"postgres dataset " + ds + " at postgresql://", "is locked by another process", `"` + app + `"`, fmt.Sprintf("server backend PID %d", backend)} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	t.Log(r)
	if r.code != exitLocked || !failedSummary.MatchString(r.stdout) || t.Failed() {
		t.Fatalf("load while another session holds the dataset: want exit %d naming it: %s", exitLocked, r)
	}
	if n := loads(); n != 1 {
		t.Fatalf("%d loads after a refused one, want 1", n)
	}
	release()

	_, release = pgtest.HoldAdvisoryLock(t, dsn, postgres.LoadLockKey(ds), app)
	load := e.start(dir, "--base-url", base, "load", "--lock-timeout", "2m", "--summary-line")
	// The load names its session before it tries the lock.
	until(t, "session of the waiting load", func() bool {
		var n int64
		pgQueryRow(t, dsn, `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1`, &n,
			fmt.Sprintf("codefresh-mcp load on %% (PID %d)", load.pid))
		return n > 0
	})
	release()
	if r := load.wait(); r.code != 0 || !summaryRe.MatchString(r.stdout) {
		t.Fatalf("load whose holder let go in time: %s", r)
	}
	if n := loads(); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
}

func pgQueryRow(t *testing.T, dsn, q string, into any, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, q, args...).Scan(into); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
