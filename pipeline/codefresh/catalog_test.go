package codefresh_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

var seedNames = []string{"user", "projects", "pipelines", "pipelines_names", "builds", "builds_by_id",
	"images", "step_types", "triggers", "auth_keys"}

func TestCatalogSeedPathsAndShapes(t *testing.T) {
	want := map[string]struct {
		path, sel string
		pag       codefresh.Paginator
	}{
		"user":            {"/user", "", codefresh.PaginatorNone},
		"projects":        {"/projects", "projects", codefresh.PaginatorOffset},
		"pipelines":       {"/pipelines", "docs", codefresh.PaginatorOffset},
		"pipelines_names": {"/pipelines/names", "docs", codefresh.PaginatorOffset},
		"builds":          {"/workflow", "workflows.docs", codefresh.PaginatorPageCursor},
		"builds_by_id":    {"/builds/{id}", "", codefresh.PaginatorNone},
		"images":          {"/images", "docs", codefresh.PaginatorPageCursor},
		"step_types":      {"/step-types", "docs", codefresh.PaginatorOffset},
		"triggers":        {"/hermes/triggers", "$", codefresh.PaginatorNone},
		"auth_keys":       {"/auth/keys", "$", codefresh.PaginatorNone},
	}
	for name, w := range want {
		r, ok := codefresh.Lookup(name)
		if !ok {
			t.Fatalf("seed resource %s missing", name)
		}
		if r.Path != w.path || r.DataSelector != w.sel || r.Paginator != w.pag {
			t.Errorf("%s: got path=%q sel=%q pag=%q, want %q %q %q", name, r.Path, r.DataSelector, r.Paginator, w.path, w.sel, w.pag)
		}
	}
	b, _ := codefresh.Lookup("builds")
	if b.IncrementalCursor != "created" || b.WriteDisposition != codefresh.Merge || !slices.Equal(b.PrimaryKey, []string{"id"}) {
		t.Errorf("builds: cursor=%q disposition=%q pk=%v", b.IncrementalCursor, b.WriteDisposition, b.PrimaryKey)
	}
	byID, _ := codefresh.Lookup("builds_by_id")
	if byID.Parent != "builds" || byID.Default || byID.Params["noAccount"] != "false" || !byID.IsDetail() {
		t.Errorf("builds_by_id: %+v", byID)
	}
	tr, _ := codefresh.Lookup("triggers")
	if !slices.Equal(tr.PrimaryKey, []string{"event", "pipeline"}) || !slices.Contains(tr.SecretFields, "event-data.secret") {
		t.Errorf("triggers: %+v", tr)
	}
	p, _ := codefresh.Lookup("pipelines")
	if !slices.Equal(p.PrimaryKey, []string{"metadata__id"}) || !slices.Equal(p.KeyedObjects, []string{"spec.steps"}) {
		t.Errorf("pipelines: %+v", p)
	}
}

func TestCatalogInvariants(t *testing.T) {
	cat := codefresh.Catalog()
	if len(cat) < 20 {
		t.Fatalf("catalog has %d resources, want at least 20", len(cat))
	}
	seen := map[string]bool{}
	for _, r := range cat {
		if seen[r.Name] {
			t.Errorf("duplicate resource %s", r.Name)
		}
		seen[r.Name] = true
		if r.Method != "GET" {
			t.Errorf("%s: method %q", r.Name, r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			t.Errorf("%s: path %q", r.Name, r.Path)
		}
		switch r.Paginator {
		case codefresh.PaginatorNone, codefresh.PaginatorOffset, codefresh.PaginatorPage, codefresh.PaginatorPageCursor:
		default:
			t.Errorf("%s: paginator %q", r.Name, r.Paginator)
		}
		switch r.Strategy {
		case codefresh.StrategyPages:
		case codefresh.StrategyPerParent, codefresh.StrategyBuildLogs:
		case codefresh.StrategyBuildWindows:
			// Date windows need a time cursor and a listing the API pages with a session.
			if r.IncrementalCursor == "" || r.Paginator != codefresh.PaginatorPageCursor {
				t.Errorf("%s: %s needs an incremental cursor and %s paging", r.Name, r.Strategy, codefresh.PaginatorPageCursor)
			}
		default:
			t.Errorf("%s: strategy %q", r.Name, r.Strategy)
		}
		if (r.Parent != "") != (r.Strategy == codefresh.StrategyPerParent || r.Strategy == codefresh.StrategyBuildLogs) {
			t.Errorf("%s: parent %q with strategy %s: a detail resource, and only one, is read per parent", r.Name, r.Parent, r.Strategy)
		}
		if r.DataSelector == "" && r.Paginator != codefresh.PaginatorNone {
			t.Errorf("%s: a single object cannot be paged", r.Name)
		}
		if len(r.PrimaryKey) == 0 {
			t.Errorf("%s: no primary key", r.Name)
		}
		for _, k := range r.PrimaryKey { // normalized column names, as dlt names them
			if strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Errorf("%s: primary key %q is not a normalized column name", r.Name, k)
			}
		}
		if r.Scope == "" && r.Name != "user" {
			t.Errorf("%s: no scope", r.Name)
		}
		if r.Description == "" {
			t.Errorf("%s: no description", r.Name)
		}
		switch r.WriteDisposition {
		case codefresh.Replace, codefresh.Merge, codefresh.Append:
		default:
			t.Errorf("%s: write disposition %q", r.Name, r.WriteDisposition)
		}
		if r.IsDetail() {
			if _, ok := codefresh.Lookup(r.Parent); !ok {
				t.Errorf("%s: parent %q not in catalog", r.Name, r.Parent)
			}
			if !slices.Contains(r.PathParams(), r.ParentParam) {
				t.Errorf("%s: parent param %q not in path %s", r.Name, r.ParentParam, r.Path)
			}
			if r.Default {
				t.Errorf("%s: detail resources are not default", r.Name)
			}
		} else if len(r.PathParams()) > 0 {
			t.Errorf("%s: path params without a parent", r.Name)
		}
		// The catalog itself must pass the guard.
		if err := codefresh.CheckRequest(r.Path, nil); err != nil {
			t.Errorf("%s: guard refuses its own path: %v", r.Name, err)
		}
		got, _, ok := codefresh.ResourceForPath(strings.ReplaceAll(strings.ReplaceAll(r.Path, "{id}", "abc"), "{accountId}", "acc"))
		// build_logs reads build_progress's path first, then the log file it names.
		if shared := r.Strategy == codefresh.StrategyBuildLogs && got.Path == r.Path; !ok || got.Name != r.Name && !shared {
			t.Errorf("ResourceForPath(%s) = %q, %v", r.Path, got.Name, ok)
		}
	}
	wantDefault := []string{"user", "projects", "pipelines", "pipelines_names", "builds", "images", "step_types", "triggers", "auth_keys"}
	if got := codefresh.DefaultResources(); !slices.Equal(got, wantDefault) {
		t.Errorf("DefaultResources = %v, want %v", got, wantDefault)
	}
	for i, n := range seedNames {
		if cat[i].Name != n {
			t.Errorf("catalog[%d] = %s, want seed %s first", i, cat[i].Name, n)
		}
	}
	for _, s := range []string{"build:read", "pipeline:read", "project:read", "step-type:read", "api-keys:read", "audit:read"} {
		if !slices.Contains(codefresh.Scopes(), s) {
			t.Errorf("Scopes() lacks %s", s)
		}
	}
	// JSON form carries what the endpoints command prints.
	b, err := json.Marshal(cat[4])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"name":"builds"`, `"data_selector":"workflows.docs"`, `"paginator":"page_cursor"`, `"incremental_cursor":"created"`, `"scope":"build:read"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

func TestCatalogIsACopy(t *testing.T) {
	cat := codefresh.Catalog()
	cat[0].Name = "changed"
	cat[4].PrimaryKey[0] = "changed"
	byID, _ := codefresh.Lookup("builds_by_id")
	byID.Params["noAccount"] = "true"
	if r, _ := codefresh.Lookup("builds"); r.PrimaryKey[0] != "id" {
		t.Error("Catalog() shares slices with the catalog")
	}
	if r, _ := codefresh.Lookup("builds_by_id"); r.Params["noAccount"] != "false" {
		t.Error("Lookup shares maps with the catalog")
	}
	if codefresh.Catalog()[0].Name != "user" {
		t.Error("Catalog() is not a copy")
	}
}

func TestRecordIDAndParentValues(t *testing.T) {
	cases := []struct {
		rec  string
		want string
	}{
		{`{"id":"a","_id":"b","metadata":{"id":"c"}}`, "a"},
		{`{"_id":"b","metadata":{"id":"c"}}`, "b"},
		{`{"metadata":{"id":"c"}}`, "c"},
		{`{"id":101}`, "101"},
		{`{"name":"x"}`, ""},
	}
	for _, c := range cases {
		if got := codefresh.RecordID(decode(t, c.rec)); got != c.want {
			t.Errorf("RecordID(%s) = %q, want %q", c.rec, got, c.want)
		}
	}
	user := decode(t, `{"_id":"u1","activeAccountName":"acme-2","account":[{"name":"acme","id":"A1"},{"name":"acme-2","_id":"A2"}]}`)
	au, _ := codefresh.Lookup("account_users")
	if got := au.ParentValues(user); !slices.Equal(got, []string{"A2"}) {
		t.Errorf("account_users parent values = %v, want [A2]", got)
	}
	prog, _ := codefresh.Lookup("build_progress")
	if got := prog.ParentValues(decode(t, `{"id":"b1","progress":"p1"}`)); !slices.Equal(got, []string{"p1"}) {
		t.Errorf("build_progress parent values = %v", got)
	}
	byID, _ := codefresh.Lookup("builds_by_id")
	if got := byID.ParentValues(decode(t, `{"id":"b1","progress":"p1"}`)); !slices.Equal(got, []string{"b1"}) {
		t.Errorf("builds_by_id parent values = %v", got)
	}
	p, err := byID.BuildPath(map[string]string{"id": "proj/pipe x"})
	if err != nil || p != "/builds/proj%2Fpipe%20x" {
		t.Errorf("BuildPath = %q, %v", p, err)
	}
	if _, err := byID.BuildPath(nil); err == nil {
		t.Error("BuildPath without the id: no error")
	}
}

func TestCheckRequest(t *testing.T) {
	refused := []string{
		"/builds/rebuild/6650a1b2c3d4e5f607182901",
		"/BUILDS/Rebuild/1",
		"/workflow/abc/pending-approval/approve",
		"/workflow/abc/pending-approval/deny/",
		"/environments/e1/start", "/environments/e1/stop", "/environments/e1/pause",
		"/environments/e1/unpause", "/environments/e1/terminate", "/environments/e1/rename/new",
		"/environments/all/terminate",
		"/kubernetes/rollback/rel/3",
		"/contexts/my-ctx/prepare",
		"/user/firebaseAuth",
		"/clusters/prod/credentials",
		"/registry/auth/token",
		"/builds/x/../rebuild/1",
		"/builds%2Frebuild%2F1",
		"/api/builds/rebuild/1",
		"/contexts?decrypt=true",
	}
	for _, p := range refused {
		err := codefresh.CheckRequest(p, nil)
		var re *codefresh.RefusedError
		if !errors.As(err, &re) || re.Rule == "" {
			t.Errorf("CheckRequest(%q) = %v, want *RefusedError", p, err)
		}
	}
	for _, k := range []string{"decrypt", "decryptVariables", "DECRYPT", "decrypt[]"} {
		for _, v := range []string{"true", "false", ""} {
			err := codefresh.CheckRequest("/contexts", url.Values{k: {v}})
			var re *codefresh.RefusedError
			if !errors.As(err, &re) || re.Param != k {
				t.Errorf("param %s=%s: %v", k, v, err)
			}
		}
	}
	allowed := []string{"/workflow", "/builds/abc", "/environments", "/environments/e1", "/environments/e1/status",
		"/contexts", "/contexts/x", "/clusters", "/user", "/pipelines/a%2Fb", "/workflow/abc/context-revision"}
	for _, p := range allowed {
		if err := codefresh.CheckRequest(p, url.Values{"limit": {"10"}, "status": {"error"}}); err != nil {
			t.Errorf("CheckRequest(%q) = %v, want nil", p, err)
		}
	}
	err := codefresh.CheckRequest("/builds/rebuild/1", nil)
	if !strings.Contains(err.Error(), "/builds/rebuild/{id}") || !strings.Contains(err.Error(), "restarts a build") {
		t.Errorf("error does not name the rule: %v", err)
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
