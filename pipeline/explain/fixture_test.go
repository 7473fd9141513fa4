package explain_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/postgres/pgtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const canary = "cfk-CANARY-7f3a9d1e5b"

// world is a project loaded from the simulator (builds and build_steps) on
// one destination, with SQL access to change its tables for a fixture.
type world struct {
	t       *testing.T
	proj    *pipeline.Project
	dataset string
	exec    func(sql string)         // runs a fixture statement read-write
	rows    func(sql string) [][]any // reads with the project's reader
}

func newWorld(t *testing.T, kind string) *world {
	t.Helper()
	ctx := context.Background()
	sim := cfsim.New(cfsim.Config{Seed: 11, Pipelines: 3, Builds: 150, Projects: 1, APIKey: canary})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	p, err := pipeline.OpenProject(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p.Env = func(string) string { return "" }
	p.Credentials = secrets.Static(canary, srv.URL+"/api", "test")
	p.RatePerSecond, p.RetryBaseWait, p.LockWait = 1000, time.Millisecond, time.Second
	w := &world{t: t, proj: p}
	if kind == "postgres" {
		dsn := pgtest.DSN(t)
		s, d := pgtest.Settings(t, dsn), &p.Config.Destination
		d.Type, d.Host, d.Port, d.Database, d.User, d.SSLMode = "postgres", s.Host, s.Port, s.Database, s.User, s.SSLMode
		p.Config.DatasetName = pgtest.Dataset(t, dsn)
		w.exec = func(q string) {
			t.Helper()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", cutSQL(q), err)
			}
		}
	} else {
		path := filepath.Join(p.Dir, "codefresh.duckdb")
		w.exec = func(q string) {
			t.Helper()
			db, err := duckfile.Open(ctx, path, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", cutSQL(q), err)
			}
		}
	}
	w.dataset = p.Config.Dataset()
	if _, err := p.Run(ctx, pipeline.Options{Resources: []string{"builds", "build_steps"}}); err != nil {
		t.Fatalf("load: %v", err)
	}
	w.rows = func(q string) [][]any {
		t.Helper()
		r, err := p.Reader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		res, err := r.Query(ctx, q, dataset.QueryOptions{MaxRows: 100000, MaxBytes: 64 << 20, MaxStringLen: 100000})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res.Rows
	}
	return w
}

func cutSQL(q string) string {
	if len(q) > 200 {
		return q[:200] + "..."
	}
	return q
}

func (w *world) table(name string) string { return w.dataset + "." + name }

// reader opens the project's reader; closed when the test ends.
func (w *world) reader() dataset.Reader {
	w.t.Helper()
	r, err := w.proj.Reader(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { r.Close() })
	return r
}

// logStep is one step of a build's log as the build_logs resource stores
// it: the last kept lines of lineCount, the first numbered firstLine.
type logStep struct {
	name                 string
	lineCount, firstLine int
	lines                []string
}

// addLogs writes a build's log in the shared build_logs layout (issue 21):
// build_logs one row per (build_id, step_order), its list field lines as
// the dlt child table build_logs__lines (value, _dlt_parent_id,
// _dlt_list_idx). It stands in for the build_logs resource in these tests.
func (w *world) addLogs(buildID string, steps []logStep) {
	w.t.Helper()
	w.exec(fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (build_id TEXT, progress_id TEXT, step_order BIGINT, step_name TEXT, line_count BIGINT, first_line BIGINT, _dlt_load_id TEXT NOT NULL, _dlt_id TEXT NOT NULL)`, w.table("build_logs")))
	w.exec(fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (value TEXT, _dlt_parent_id TEXT NOT NULL, _dlt_list_idx BIGINT NOT NULL, _dlt_id TEXT NOT NULL)`, w.table("build_logs__lines")))
	for i, s := range steps {
		id := fmt.Sprintf("%s-log-%d", buildID, i)
		w.exec(fmt.Sprintf(`INSERT INTO %s VALUES (%s, 'p-%s', %d, %s, %d, %d, 'fixture', %s)`,
			w.table("build_logs"), lit(buildID), buildID, i, lit(s.name), s.lineCount, s.firstLine, lit(id)))
		if len(s.lines) == 0 {
			continue
		}
		var vals []string
		for j, l := range s.lines {
			vals = append(vals, fmt.Sprintf("(%s, %s, %d, %s)", lit(l), lit(id), j, lit(fmt.Sprintf("%s-%d", id, j))))
		}
		w.exec(fmt.Sprintf(`INSERT INTO %s VALUES %s`, w.table("build_logs__lines"), strings.Join(vals, ", ")))
	}
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
