package cfsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestAuth(t *testing.T) {
	s := newTestServer(t, Config{Seed: 1})
	code, body, _ := do(t, s, "/user", "Authorization", "")
	want := `{"status":401,"code":"2401","name":"UNAUTHORIZED_ERROR","message":"Failed to authenticate request because no token was provided"}`
	if code != http.StatusUnauthorized || string(body) != want {
		t.Fatalf("no header: %d %s", code, body)
	}
	code, wrong, _ := do(t, s, "/user", "Authorization", "cfk-WRONG-0000")
	if code != http.StatusUnauthorized || bytes.Equal(wrong, body) || !bytes.Contains(wrong, []byte(`"UNAUTHORIZED_ERROR"`)) {
		t.Fatalf("wrong key: %d %s", code, wrong)
	}
	if bytes.Contains(wrong, []byte("WRONG")) {
		t.Fatal("the 401 body echoes the key it got")
	}
	// "Bearer <key>" is not the raw key Codefresh expects.
	if code, _, _ := do(t, s, "/user", "Authorization", "Bearer "+canaryKey); code != http.StatusUnauthorized {
		t.Fatalf("Bearer prefix accepted: %d", code)
	}
	// Unknown path: 404 NOT_FOUND_ERROR, after auth.
	code, body, _ = do(t, s, "/no/such/thing")
	if code != http.StatusNotFound || !bytes.Contains(body, []byte(`"name":"NOT_FOUND_ERROR"`)) || !bytes.Contains(body, []byte(`"code":"101"`)) {
		t.Fatalf("unknown path: %d %s", code, body)
	}
	if code, _, _ := do(t, s, "/no/such/thing", "Authorization", ""); code != http.StatusUnauthorized {
		t.Fatalf("unknown path without key: %d", code)
	}
	// The default key is the demo key.
	d := New(Config{Seed: 1})
	if code, _, _ := do(t, d, "/user", "Authorization", DemoAPIKey); code != http.StatusOK {
		t.Fatalf("demo key: %d", code)
	}
}

func TestScopes(t *testing.T) {
	s := newTestServer(t, Config{Seed: 2, Scopes: []string{"pipeline:read", "build"}})
	for path, want := range map[string]int{
		"/user":                 200, // any valid key
		"/pipelines":            200,
		"/workflow":             200, // "build" grants build:read
		"/projects":             403,
		"/images":               403,
		"/hermes/triggers":      403,
		"/runtime-environments": 403,
	} {
		code, body, _ := do(t, s, path)
		if code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
		if code == 403 && (!bytes.Contains(body, []byte(`"name":"FORBIDDEN_ERROR"`)) || !bytes.Contains(body, []byte(`"requiredScope"`))) {
			t.Errorf("%s: 403 body %s", path, body)
		}
	}
	s.SetScopes(nil)
	if code, _, _ := do(t, s, "/projects"); code != 200 {
		t.Errorf("SetScopes(nil): %d", code)
	}
}

func TestSideEffectGETsRecorded(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Builds: 50})
	id := s.BuildIDs()[5]
	before := s.Count("builds")
	v := getJSON(t, s, "/builds/rebuild/"+id)
	newID, _ := v.(string)
	if st, ok := s.Build(newID); !ok || st != "pending" || s.Count("builds") != before+1 {
		t.Fatalf("rebuild: new build %q status %q, count %d", newID, st, s.Count("builds"))
	}
	if code, _, _ := do(t, s, "/workflow/"+id+"/pending-approval/approve"); code != http.StatusBadRequest {
		t.Fatalf("approve: %d", code)
	}
	do(t, s, "/workflow/"+id+"/pending-approval/deny")
	want := []string{"GET /builds/rebuild/" + id, "GET /workflow/" + id + "/pending-approval/approve", "GET /workflow/" + id + "/pending-approval/deny"}
	if got := s.SideEffectCalls(); !slices.Equal(got, want) {
		t.Fatalf("side effects %v", got)
	}
}

func TestRequestsRecorded(t *testing.T) {
	s := newTestServer(t, Config{Seed: 4})
	do(t, s, "/workflow?limit=5&status=error&status=success", "X-Pagination-Session-Id", "sess-1")
	do(t, s, "/pipelines/backend%2Fbuild")
	do(t, s, "/user", "Authorization", "")
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "GET" || r.Path != "/workflow" || r.SessionID != "sess-1" || !r.HasAuth || r.Status != 200 ||
		!slices.Equal(r.Query["status"], []string{"error", "success"}) {
		t.Fatalf("request 0: %+v", r)
	}
	if reqs[1].Path != "/pipelines/backend%2Fbuild" || reqs[2].HasAuth || reqs[2].Status != 401 {
		t.Fatalf("requests: %+v", reqs[1:])
	}
	if strings.Contains(fmt.Sprintf("%#v", reqs), canaryKey) {
		t.Fatal("a recorded request holds the key")
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 {
		t.Fatal("ResetRequests")
	}
}

func TestFaults(t *testing.T) {
	t.Run("429 with Retry-After", func(t *testing.T) {
		s := newTestServer(t, Config{Seed: 5, Rate429: 1, RetryAfter: 1500 * time.Millisecond})
		code, body, h := do(t, s, "/pipelines")
		if code != http.StatusTooManyRequests || h.Get("Retry-After") != "2" || !bytes.Contains(body, []byte(`"status":429`)) {
			t.Fatalf("%d %q %s", code, h.Get("Retry-After"), body)
		}
		// Auth is checked first: an unauthenticated request is a 401.
		if code, _, _ := do(t, s, "/pipelines", "Authorization", ""); code != 401 {
			t.Fatalf("no key under 429s: %d", code)
		}
		s.SetFaults(Faults{})
		if code, _, _ := do(t, s, "/pipelines"); code != 200 {
			t.Fatalf("after SetFaults: %d", code)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		s := newTestServer(t, Config{Seed: 5, Rate5xx: 1})
		seen := map[int]bool{}
		for i := 0; i < 40; i++ {
			code, _, _ := do(t, s, "/pipelines")
			if code < 500 || code > 504 || code == 501 {
				t.Fatalf("status %d", code)
			}
			seen[code] = true
		}
		if len(seen) < 3 {
			t.Errorf("only %v", seen)
		}
	})
	t.Run("rates are deterministic from the seed", func(t *testing.T) {
		run := func() []int {
			s := newTestServer(t, Config{Seed: 6, Rate429: 0.2, Rate5xx: 0.2})
			var out []int
			for i := 0; i < 60; i++ {
				code, _, _ := do(t, s, "/projects")
				out = append(out, code)
			}
			return out
		}
		a, b := run(), run()
		if !slices.Equal(a, b) {
			t.Fatal("same seed, different fault sequence")
		}
		if !slices.Contains(a, 200) || !slices.Contains(a, 429) {
			t.Fatalf("expected a mix: %v", a)
		}
	})
	t.Run("FailNext scripts a path", func(t *testing.T) {
		s := newTestServer(t, Config{Seed: 7})
		s.FailNext("/workflow", 2, 503)
		var got []int
		for i := 0; i < 3; i++ {
			code, _, _ := do(t, s, "/workflow?limit=1")
			got = append(got, code)
		}
		if code, _, _ := do(t, s, "/projects"); code != 200 {
			t.Fatal("FailNext leaked to another path")
		}
		if !slices.Equal(got, []int{503, 503, 200}) {
			t.Fatalf("%v", got)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := newTestServer(t, Config{Seed: 8, Latency: 30 * time.Millisecond})
		start := time.Now()
		do(t, s, "/user")
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Fatalf("served in %v with 30ms latency", d)
		}
	})
	t.Run("truncated body over TCP", func(t *testing.T) {
		s := newTestServer(t, Config{Seed: 9, TruncateRate: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		base, err := s.Start(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/pipelines", nil)
		req.Header.Set("Authorization", canaryKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("status %d, read error %v; want a cut body", resp.StatusCode, err)
		}
	})
}

func TestStartServesUnderAPI(t *testing.T) {
	s := newTestServer(t, Config{Seed: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, err := s.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api") {
		t.Fatalf("base URL %s", base)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/pipelines/backend%2Fbuild", nil)
	req.Header.Set("Authorization", canaryKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"name":"backend/build"`)) {
		t.Fatalf("%d %.200s", resp.StatusCode, body)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/user"); err == nil {
		t.Fatal("still serving after Close")
	}
}

func TestAdvanceSettlesBuilds(t *testing.T) {
	s := newTestServer(t, Config{Seed: 20, Builds: 400})
	inflight := s.BuildIDs("running", "pending")
	if len(inflight) < 3 || len(s.BuildIDs("running")) == 0 || len(s.BuildIDs("pending")) == 0 {
		t.Fatalf("want running and pending builds at start, got %d in flight", len(inflight))
	}
	for _, st := range []string{"success", "error", "terminated"} {
		if len(s.BuildIDs(st)) == 0 {
			t.Errorf("no %s builds", st)
		}
	}
	running := inflight[0]
	b := getJSON(t, s, "/builds/"+running)
	if at(b, "finished") != nil {
		t.Fatalf("in-flight build has finished = %v", at(b, "finished"))
	}
	before, start := s.Count("builds"), s.Now()
	s.Advance(3 * time.Hour)
	if !s.Now().Equal(start.Add(3 * time.Hour)) {
		t.Fatalf("clock %v", s.Now())
	}
	for _, id := range inflight {
		st, ok := s.Build(id)
		if !ok || st == "running" || st == "pending" {
			t.Fatalf("build %s still %s after 3h", id, st)
		}
	}
	b = getJSON(t, s, "/builds/"+running)
	if at(b, "finished") == nil || at(b, "started") == nil {
		t.Fatal("settled build has no finished time")
	}
	// Default rate: at least 10 builds an hour.
	if added := s.Count("builds") - before; added < 15 || added > 80 {
		t.Fatalf("Advance(3h) added %d builds", added)
	}
	// The newest builds came in during the advance, newest first.
	p := workflowPage(t, s, "limit=1&page=1")
	created := str(p.docs[0], "created")
	if created <= start.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("newest build created %s, before the advance", created)
	}
}

func TestContextRevisionFollowsState(t *testing.T) {
	s := newTestServer(t, Config{Seed: 21, Builds: 300})
	last := func(id string) any {
		revs := getJSON(t, s, "/workflow/"+id+"/context-revision").([]any)
		return revs[len(revs)-1]
	}
	pending := s.BuildIDs("pending")[0]
	if st := str(last(pending), "context", "workflowMetadata", "status"); st != "pending" {
		t.Fatalf("pending build: %s", st)
	}
	running := s.BuildIDs("running")[0]
	lr := last(running)
	if str(lr, "context", "workflowMetadata", "status") != "running" || at(lr, "context", "workflowMetadata", "finishTimestamp") != nil {
		t.Fatalf("running build: %v", at(lr, "context", "workflowMetadata"))
	}
	failed := s.BuildIDs("error")[0]
	lf := last(failed)
	if str(lf, "context", "workflowMetadata", "result") != "error" || at(lf, "metadata", "annotations", "final") != true {
		t.Fatalf("failed build: %v", at(lf, "context", "workflowMetadata"))
	}
	steps := at(lf, "context", "stepsMetadata").(map[string]any)
	failures := 0
	for _, st := range steps {
		if at(st, "status") == "failure" {
			failures++
		}
	}
	if failures != 1 {
		t.Fatalf("failed build has %d failed steps", failures)
	}
	if code, _, _ := do(t, s, "/workflow/000000000000000000000000/context-revision"); code != 404 {
		t.Fatalf("unknown build: %d", code)
	}
	p := getJSON(t, s, "/progress/"+str(getJSON(t, s, "/builds/"+failed), "progress"))
	if str(p, "status") != "error" || !strings.HasPrefix(str(p, "location", "url"), "https://") {
		t.Fatalf("progress %v", p)
	}
}

func TestDeterministic(t *testing.T) {
	paths := []string{"/workflow?limit=50", "/pipelines?limit=100", "/projects", "/images?limit=20", "/step-types",
		"/hermes/triggers", "/contexts", "/annotations", "/audit", "/user", "/auth/keys"}
	render := func(seed int64) []byte {
		s := newTestServer(t, Config{Seed: seed, Builds: 300})
		var all []byte
		for _, p := range paths {
			_, body, _ := do(t, s, p)
			all = append(all, body...)
		}
		_, body, _ := do(t, s, "/workflow/"+s.BuildIDs()[7]+"/context-revision")
		return append(all, body...)
	}
	a, b, c := render(42), render(42), render(43)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
}

// TestSecretsPresentKeyAbsent: the simulator hands out secrets where
// Codefresh does (so loaders can be tested for stripping them) and never the
// API key.
func TestSecretsPresentKeyAbsent(t *testing.T) {
	s := newTestServer(t, Config{Seed: 22, Builds: 100})
	for _, c := range []struct{ path, where string }{
		{"/hermes/triggers", `"secret":"` + SecretMarker},
		{"/hermes/events", `"secret":"` + SecretMarker},
		{"/contexts", `"DB_PASSWORD":"` + SecretMarker},
		{"/workflow?limit=5", `"key":"DEPLOY_TOKEN","value":"` + SecretMarker},
	} {
		_, body, _ := do(t, s, c.path)
		if !bytes.Contains(body, []byte(c.where)) {
			t.Errorf("%s: no %s", c.path, c.where)
		}
	}
	_, masked, _ := do(t, s, "/contexts/prod-secrets")
	_, revealed, _ := do(t, s, "/contexts/prod-secrets?decrypt=true")
	if bytes.Contains(masked, []byte(SecretMarker)) || !bytes.Contains(revealed, []byte(SecretMarker)) {
		t.Errorf("decrypt: masked %s revealed %s", masked, revealed)
	}
	for _, r := range routes {
		path := strings.NewReplacer("{id}", s.BuildIDs()[0], "{name}", "backend%2Fbuild").Replace(r.pattern)
		_, body, _ := do(t, s, path)
		if bytes.Contains(body, []byte(canaryKey)) {
			t.Fatalf("%s leaks the API key", r.pattern)
		}
	}
}

func TestCounts(t *testing.T) {
	s := newTestServer(t, Config{Seed: 23, Builds: 250, Pipelines: 9, Projects: 3, Images: 40, StepTypes: 12, Users: 4, AuditEvents: 25})
	bare := map[string]string{
		"triggers": "/hermes/triggers", "hermes_events": "/hermes/events", "auth_keys": "/auth/keys",
		"teams": "/team", "abac_rules": "/abac", "agents": "/agents", "registries": "/registries",
		"contexts": "/contexts", "annotations": "/annotations", "helm_repos": "/helm/repos", "clusters": "/clusters",
		"runtime_environments": "/runtime-environments?limit=100",
		"account_users":        "/accounts/" + s.g.accountID + "/users",
	}
	for name, path := range bare {
		if got := len(getJSON(t, s, path).([]any)); got != s.Count(name) {
			t.Errorf("%s: listing has %d, Count %d", name, got, s.Count(name))
		}
	}
	for name, want := range map[string]int{"builds": 250, "pipelines": 9, "projects": 3, "images": 40, "step_types": 12, "account_users": 4, "audit": 25, "user": 1} {
		if got := s.Count(name); got != want {
			t.Errorf("Count(%s) = %d, want %d", name, got, want)
		}
	}
	n := 0
	for page := 1; ; page++ {
		d := list(getJSON(t, s, fmt.Sprintf("/audit?page=%d&limit=10", page)), "data")
		n += len(d)
		if len(d) < 10 {
			break
		}
	}
	if n != 25 {
		t.Errorf("audit paged %d", n)
	}
}

// TestMillionBuildsBoundedMemory builds the benchmark-sized server and
// reports its heap: builds are compact records, rendered on demand.
func TestMillionBuildsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1M builds")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newTestServer(t, Config{Seed: 99, Builds: 1_000_000, Pipelines: 200, Projects: 20})
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("1,000,000 builds: heap %.1f MB (%.0f bytes/build incl. images and pipelines)", float64(heap)/(1<<20), float64(heap)/1e6)
	if size := unsafe.Sizeof(build{}); size > 32 {
		t.Errorf("build record is %d bytes", size)
	}
	if heap > 64<<20 {
		t.Fatalf("heap %d MB for 1M builds", heap>>20)
	}
	if s.Count("builds") != 1_000_000 {
		t.Fatal("count")
	}
	// The oldest build is still reachable by id, and the last page serves.
	oldest := s.g.oid(kBuild, 0, s.builds[0].created/1000)
	if _, ok := s.Build(oldest); !ok {
		t.Fatal("oldest build not found by id")
	}
	p := workflowPage(t, s, "limit=100&page=1&status=pending")
	if len(p.docs) == 0 {
		t.Fatal("no pending builds")
	}
	runtime.KeepAlive(s)
}

// Hermes lists an event once however many triggers listen to it; the
// triggers list keeps one entry per trigger.
func TestHermesEventsAreUnique(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Pipelines: 200})
	events := getJSON(t, s, "/hermes/events").([]any)
	seen := map[string]bool{}
	for _, e := range events {
		uri := e.(map[string]any)["uri"].(string)
		if seen[uri] {
			t.Fatalf("event %s listed twice", uri)
		}
		seen[uri] = true
	}
	triggers := getJSON(t, s, "/hermes/triggers").([]any)
	if len(triggers) != 50 || len(events) >= len(triggers) {
		t.Fatalf("%d triggers and %d events; want 50 triggers sharing some events", len(triggers), len(events))
	}
	for _, tr := range triggers {
		if ev := tr.(map[string]any)["event"].(string); !seen[ev] {
			t.Fatalf("trigger on %s, an event /hermes/events does not list", ev)
		}
	}
}
