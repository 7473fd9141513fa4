package codefresh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

// simCountName maps catalog names the simulator's Count spells differently.
var simCountName = map[string]string{
	"build_logs": "build_progress", // its requests are the progress records; its rows come from the log files
}

// simDuplicateKeys are resources where the simulator (not the API) repeats a
// primary key; remove an entry once cfsim is fixed.
var simDuplicateKeys = map[string]string{
	"build_steps": "its key (build_id, name) belongs to the step rows the pipeline makes from each build's last revision, not to the revisions listed",
	"build_logs":  "its key (build_id, step_order) belongs to the rows made from each build's log file, not to the progress records listed",
}

func startSim(t *testing.T, cfg cfsim.Config, mod ...func(*codefresh.Options)) (*cfsim.Server, *codefresh.Client) {
	t.Helper()
	cfg.APIKey = canary
	s := cfsim.New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv.URL+"/api", mod...)
	return s, c
}

// listing pages r (all parents' details for a detail resource) and returns
// the records; pages of details are fetched with parent values from parents.
func listing(t *testing.T, c *codefresh.Client, r codefresh.Resource, size int, parents []map[string]any) ([]map[string]any, []json.RawMessage) {
	t.Helper()
	var recs []map[string]any
	var raws []json.RawMessage
	fn := func(p *codefresh.Page) error {
		recs = append(recs, p.Records...)
		raws = append(raws, p.Raw...)
		return nil
	}
	ctx := context.Background()
	if !r.IsDetail() {
		if err := c.Pages(ctx, r, codefresh.PageOptions{PageSize: size}, fn); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		return recs, raws
	}
	for _, parent := range parents {
		for _, v := range r.ParentValues(parent) {
			opt := codefresh.PageOptions{PageSize: size, PathParams: map[string]string{r.ParentParam: v}}
			if err := c.Pages(ctx, r, opt, fn); err != nil {
				t.Fatalf("%s (%s=%s): %v", r.Name, r.ParentParam, v, err)
			}
		}
	}
	return recs, raws
}

// pkValue reads a normalized primary key ("metadata__id") from a record.
func pkValue(rec map[string]any, pk []string) string {
	var parts []string
	for _, col := range pk {
		var cur any = rec
		for _, seg := range strings.Split(col, "__") {
			m, ok := cur.(map[string]any)
			if !ok {
				return ""
			}
			cur = nil
			for k, v := range m {
				if strings.EqualFold(k, seg) || snake(k) == seg {
					cur = v
				}
			}
		}
		s := fmt.Sprint(cur)
		if cur == nil || s == "" {
			return ""
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\x00")
}

// snake is a rough dlt snake_case for the keys the catalog's keys come from.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wantRequests is the fewest requests that can prove a listing of n records
// in pages of size is complete.
func wantRequests(r codefresh.Resource, n, size int) int {
	switch r.Paginator {
	case codefresh.PaginatorOffset, codefresh.PaginatorPage:
		return n/size + 1 // the last page is short, or empty when n is a multiple
	case codefresh.PaginatorPageCursor:
		return max(1, (n+size-1)/size) // nextPage=false ends on a full last page
	}
	return 1
}

func TestSimPagesEveryResourceToTheEnd(t *testing.T) {
	s, c := startSim(t, cfsim.Config{Seed: 7, Pipelines: 13, Builds: 47, Projects: 4, Users: 3, AuditEvents: 23, StepTypes: 12})
	const size = 5
	lists := map[string][]map[string]any{}
	for _, r := range codefresh.Catalog() {
		s.ResetRequests()
		recs, raws := listing(t, c, r, size, lists[r.Parent])
		lists[r.Name] = recs
		name := r.Name
		if alias, ok := simCountName[name]; ok {
			name = alias
		}
		want := s.Count(name)
		if len(recs) != want {
			t.Errorf("%s: %d records, simulator has %d", r.Name, len(recs), want)
		}
		if want == 0 && !r.IsDetail() {
			t.Errorf("%s: simulator served no records; the test proves nothing", r.Name)
		}
		seen := map[string]bool{}
		unique := recs
		if why, ok := simDuplicateKeys[r.Name]; ok {
			t.Logf("%s: primary-key uniqueness not checked: %s", r.Name, why)
			unique = nil
		}
		for _, rec := range unique {
			k := pkValue(rec, r.PrimaryKey)
			if k == "" || seen[k] {
				t.Errorf("%s: primary key %v missing or repeated in %v", r.Name, r.PrimaryKey, k)
				break
			}
			seen[k] = true
		}
		reqs := s.Requests()
		if !r.IsDetail() {
			if got, exp := len(reqs), wantRequests(r, want, size); got != exp {
				t.Errorf("%s: %d requests for %d records in pages of %d, want %d", r.Name, got, want, size, exp)
			}
		}
		for _, q := range reqs {
			if q.Status != http.StatusOK || !q.HasAuth || q.Method != http.MethodGet {
				t.Errorf("%s: request %s %s -> %d (auth %v)", r.Name, q.Method, q.Path, q.Status, q.HasAuth)
				break
			}
			if _, _, ok := codefresh.ResourceForPath(q.Path); !ok {
				t.Errorf("%s: request to %s, not a catalog path", r.Name, q.Path)
			}
		}
		// Nothing secret survives Prepare: neither in records nor in Raw.
		for i, rec := range recs {
			b, _ := json.Marshal(rec)
			if strings.Contains(string(b), cfsim.SecretMarker) || strings.Contains(string(raws[i]), cfsim.SecretMarker) {
				t.Errorf("%s: a secret survived: %s", r.Name, b)
				break
			}
		}
	}
	if calls := s.SideEffectCalls(); len(calls) > 0 {
		t.Errorf("side-effect GETs: %v", calls)
	}
}

func TestSimBuildsUnderFaults(t *testing.T) {
	s, c := startSim(t, cfsim.Config{Seed: 3, Pipelines: 5, Builds: 120, Rate5xx: 0.2, TruncateRate: 0.15},
		func(o *codefresh.Options) { o.MaxAttempts = 8 })
	s.FailNext("/workflow", 1, http.StatusTooManyRequests) // Retry-After: 1
	builds, _ := codefresh.Lookup("builds")
	recs, _ := listing(t, c, builds, 10, nil)
	ids := map[string]bool{}
	for _, r := range recs {
		ids[codefresh.RecordID(r)] = true
	}
	if len(recs) != 120 || len(ids) != 120 {
		t.Errorf("%d records, %d distinct; want 120", len(recs), len(ids))
	}
	if st := c.Stats(); st.Retries < 2 || st.Requests != int64(len(s.Requests())) {
		t.Errorf("stats %+v, simulator saw %d requests", st, len(s.Requests()))
	}
	sessions := map[string]bool{}
	for _, q := range s.Requests() {
		sessions[q.SessionID] = true
	}
	if len(sessions) != 1 || sessions[""] {
		t.Errorf("one listing used session ids %v", sessions)
	}
}

func TestSimScopesAndFilters(t *testing.T) {
	s, c := startSim(t, cfsim.Config{Seed: 5, Pipelines: 4, Builds: 30, Scopes: []string{"pipeline:read"}})
	builds, _ := codefresh.Lookup("builds")
	err := c.Pages(context.Background(), builds, codefresh.PageOptions{}, func(*codefresh.Page) error { return nil })
	var ae *codefresh.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Name != "FORBIDDEN_ERROR" || !strings.Contains(err.Error(), "build:read") {
		t.Errorf("builds without build scope: %v", err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("403 retried: %d requests", n)
	}
	pipes, _ := codefresh.Lookup("pipelines")
	recs, _ := listing(t, c, pipes, 3, nil)
	if len(recs) != 4 {
		t.Errorf("pipelines: %d", len(recs))
	}
	// Every pipeline's steps came out as an ordered list of named objects.
	for _, p := range recs {
		steps, ok := p["spec"].(map[string]any)["steps"].([]any)
		if !ok || len(steps) == 0 {
			t.Fatalf("spec.steps = %T", p["spec"].(map[string]any)["steps"])
		}
		if _, ok := steps[0].(map[string]any)["name"].(string); !ok {
			t.Errorf("step without name: %v", steps[0])
		}
	}

	s.SetScopes(nil)
	s.ResetRequests()
	q := url.Values{"status": {"success", "error"}}
	var got int
	err = c.Pages(context.Background(), builds, codefresh.PageOptions{Query: q, PageSize: 7}, func(p *codefresh.Page) error {
		for _, r := range p.Records {
			if st := r["status"]; st != "success" && st != "error" {
				t.Errorf("filter ignored: status %v", st)
			}
		}
		got += len(p.Records)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := len(s.BuildIDs("success", "error"))
	if got != want {
		t.Errorf("filtered builds: %d, want %d", got, want)
	}
	for _, r := range s.Requests() {
		if !slices.Equal(r.Query["status"], []string{"success", "error"}) {
			t.Errorf("repeated status params lost: %v", r.Query)
		}
	}
}

// BenchmarkPagesBuilds lists builds from the simulator over loopback: client,
// decode (UseNumber), secret stripping and Prepare, pages of 100.
func BenchmarkPagesBuilds(b *testing.B) {
	s := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: 5000, APIKey: canary})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: canary, RatePerSecond: -1})
	if err != nil {
		b.Fatal(err)
	}
	builds, _ := codefresh.Lookup("builds")
	b.ResetTimer()
	for b.Loop() {
		n := 0
		err := c.Pages(context.Background(), builds, codefresh.PageOptions{}, func(p *codefresh.Page) error {
			n += len(p.Records)
			return nil
		})
		if err != nil || n != 5000 {
			b.Fatalf("%v, %d records", err, n)
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "records/s")
}
