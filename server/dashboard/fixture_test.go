package dashboard

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// canaryKey is the simulator's only key in these tests: no page or
// response may ever contain it.
const canaryKey = "cfsim-canary-KEY-7f3a9c1e5b2d"

// hostileMessage starts every commit message the loads below store: it must
// show as text, never run.
const hostileMessage = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`

// demoDir is one demo load shared by the tests of this package (read only).
var demoDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dashboard-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := demoLoad(context.Background(), dir, 2000, 1); err != nil {
		fmt.Fprintln(os.Stderr, "demo load:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	demoDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// demoLoad runs `loads` real loads from the simulator into dir's DuckDB
// file, with hostileMessage put in front of every commit message on the way.
func demoLoad(ctx context.Context, dir string, builds, loads int) error {
	sim := cfsim.New(cfsim.Config{Seed: 42, Pipelines: 12, Projects: 4, Builds: builds, APIKey: canaryKey})
	srv := httptest.NewServer(hostileCommits(sim.Handler()))
	defer srv.Close()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		return err
	}
	p.Credentials = secrets.Static(canaryKey, srv.URL+"/api", "test simulator")
	p.RatePerSecond = 1000
	for i := 0; i < loads; i++ {
		if _, err := p.Run(ctx, pipeline.Options{}); err != nil {
			return err
		}
		sim.Advance(6 * time.Hour)
	}
	return nil
}

// hostileCommits rewrites the simulator's answers so commit messages carry
// markup, as a hostile commit would; the simulator itself stays faithful.
func hostileCommits(next http.Handler) http.Handler {
	quoted := strings.ReplaceAll(hostileMessage, `"`, `\"`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"commitMessage":"`), []byte(`"commitMessage":"`+quoted))
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// served is a dashboard listening on loopback for one test.
type served struct {
	srv    *Server
	base   string // http://127.0.0.1:port
	url    string // with the token
	client *http.Client
}

func serve(t *testing.T, dir string, traces TraceSource) *served {
	t.Helper()
	p, err := pipeline.OpenProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Reader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Reader: r, Pipeline: p.Config.Pipeline(), Dataset: p.Config.Dataset(), Traces: traces})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := &served{srv: d, base: "http://" + ln.Addr().String(), url: d.URL(ln.Addr())}
	jar, _ := cookiejar.New(nil)
	s.client = &http.Client{Jar: jar, Timeout: 60 * time.Second}
	resp := s.get(t, s.url) // the token becomes a cookie
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", s.url, resp.StatusCode)
	}
	return s
}

type page struct {
	StatusCode int
	Header     http.Header
	Body       string
}

func (s *served) get(t *testing.T, u string) page {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = s.base + u
	}
	resp, err := s.client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return read(t, resp)
}

func (s *served) post(t *testing.T, path string, form url.Values) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{StatusCode: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// sqlDB opens the demo file read-only with plain database/sql: the numbers
// the pages show are checked against it, not against the dashboard's reader.
// It must be closed before the dashboard reads the file: DuckDB refuses one
// process two opens of a file with different settings.
func sqlDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", filepath.Join(dir, "codefresh.duckdb")+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// queryCounts runs q (rows of key, count) on its own brief open of the file.
func queryCounts(t *testing.T, dir, q string) map[string]int64 {
	t.Helper()
	db := sqlDB(t, dir)
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

// tableCounts is count(*) of every data table of the dataset in dir.
func tableCounts(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	return queryCounts(t, dir, `SELECT 'all', 0`+tableUnion(t, dir))
}

// tableUnion is " UNION ALL SELECT 'name', count(*) FROM name" for every data table.
func tableUnion(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for name := range queryCounts(t, dir, `SELECT table_name, 0 FROM information_schema.tables WHERE table_schema = 'codefresh_data' AND table_name NOT LIKE '\_dlt\_%' ESCAPE '\'`) {
		b.WriteString(` UNION ALL SELECT '` + name + `', count(*) FROM codefresh_data."` + name + `"`)
	}
	return b.String()
}
