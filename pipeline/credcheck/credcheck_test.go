package credcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// fakeAPI answers every catalog listing with an empty body of the right
// shape, except the paths given a status. It fails the test if the key is
// ever seen outside the Authorization header.
type fakeAPI struct {
	t        *testing.T
	key      string
	status   map[string]int           // path under /api -> status
	keysBody string                   // GET /auth/keys
	echoKey  bool                     // error bodies quote the key, as a careless server might
	delay    map[string]time.Duration // path -> time before the answer
	mu       sync.Mutex
	hits     map[string]int
}

func newFakeAPI(t *testing.T, key string) *fakeAPI {
	return &fakeAPI{t: t, key: key, status: map[string]int{}, hits: map[string]int{},
		keysBody: `[{"_id":"1","name":"loader","tokenPrefix":"` + key[:9] + `","scopes":["pipeline:read","project:read"]}]`}
}

func emptyBody(sel string) string {
	switch sel {
	case "":
		return "{}"
	case "$":
		return "[]"
	}
	parts := strings.Split(sel, ".")
	body := "[]"
	for i := len(parts) - 1; i >= 0; i-- {
		body = fmt.Sprintf("{%q:%s}", parts[i], body)
	}
	return body
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.String(), f.key) || strings.Contains(r.URL.String(), f.key[:9]) {
		f.t.Errorf("key sent in the URL %s", r.URL)
	}
	path := strings.TrimPrefix(r.URL.Path, "/api")
	f.mu.Lock()
	f.hits[path]++
	d := f.delay[path]
	f.mu.Unlock()
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != f.key {
		w.WriteHeader(401)
		body := `{"status":401,"code":"2401","name":"UNAUTHORIZED_ERROR","message":"Unauthorized"}`
		if f.echoKey {
			body = `{"status":401,"name":"UNAUTHORIZED_ERROR","message":"bad key ` + r.Header.Get("Authorization") + `"}`
		}
		fmt.Fprint(w, body)
		return
	}
	if s, ok := f.status[path]; ok {
		w.WriteHeader(s)
		msg := "nope"
		if f.echoKey {
			msg = "nope for " + f.key
		}
		fmt.Fprintf(w, `{"status":%d,"message":%q}`, s, msg)
		return
	}
	switch path {
	case "/user":
		fmt.Fprint(w, `{"_id":"u1","userName":"jdoe","activeAccountName":"acme","account":[{"_id":"a0","name":"other"},{"_id":"a1","name":"acme"}]}`)
		return
	case "/auth/keys":
		fmt.Fprint(w, f.keysBody)
		return
	}
	res, _, ok := codefresh.ResourceForPath(path)
	if !ok {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"status":404,"name":"NOT_FOUND_ERROR","message":"no route"}`)
		return
	}
	fmt.Fprint(w, emptyBody(res.DataSelector))
}

// check runs Check with key against f, served for the rest of the test.
func (f *fakeAPI) check(t *testing.T, key string, opts Options) *Result {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	res, err := Check(context.Background(), fakeCreds(key, srv.URL+"/api"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func fakeCreds(key, baseURL string) *secrets.Credentials {
	return secrets.Static(key, baseURL, secrets.SourceKeyring)
}

var fastCheck = Options{RetryBaseWait: time.Millisecond}

func capability(t *testing.T, res *Result, name string) Capability {
	t.Helper()
	for _, c := range res.Capabilities {
		if c.Resource == name {
			return c
		}
	}
	t.Fatalf("no capability %s", name)
	return Capability{}
}

func mustNotLeak(t *testing.T, v any, secrets ...string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Fatalf("%q leaked: %s", s, b)
		}
	}
}

func TestCheckMatrix(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.status["/workflow"] = 403
	f.status["/audit"] = 404
	f.status["/team"] = 429
	f.status["/abac"] = 502
	f.status["/agents"] = 400
	res := f.check(t, canary, fastCheck)
	if res.Status != CheckOK || res.Message != "" {
		t.Fatalf("status %s: %s", res.Status, res.Message)
	}
	if *res.User != (UserInfo{Name: "jdoe", ActiveAccount: "acme", AccountID: "a1"}) {
		t.Fatalf("user %+v", res.User)
	}
	if !res.Key.Matched || res.Key.Name != "loader" || strings.Join(res.Key.Scopes, ",") != "pipeline:read,project:read" {
		t.Fatalf("key %+v", res.Key)
	}
	want := map[string]string{
		"builds":        "missing_scope:build:read",
		"builds_by_id":  "missing_scope:build:read", // inherits
		"build_steps":   "missing_scope:build:read",
		"build_logs":    "missing_scope:build:read",
		"pipelines":     CapLoadable,
		"projects":      CapLoadable,
		"user":          CapLoadable,
		"account_users": CapLoadable, // inherits user
		"audit":         CapNotFound,
		"teams":         CapTransient,
		"abac_rules":    CapTransient,
		"agents":        CapError,
	}
	for name, st := range want {
		if c := capability(t, res, name); c.Status != st {
			t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Message, st)
		}
	}
	if c := capability(t, res, "builds_by_id"); c.Inherits != "builds" {
		t.Errorf("builds_by_id inherits %q", c.Inherits)
	}
	if len(res.Capabilities) != len(codefresh.Catalog()) {
		t.Fatalf("%d capabilities for %d resources", len(res.Capabilities), len(codefresh.Catalog()))
	}
	total := 0
	for _, n := range res.Summary {
		total += n
	}
	if total != len(res.Capabilities) || res.Summary[CapMissingScope] != 5 { // builds + its 4 details
		t.Fatalf("summary %v", res.Summary)
	}
	// Detail resources are never requested; 429 is retried (MaxAttempts 2).
	if f.hits["/team"] != 2 || f.hits["/workflow"] != 1 {
		t.Fatalf("hits %v", f.hits)
	}
	for p := range f.hits {
		if strings.Contains(p, "{") || strings.HasPrefix(p, "/builds/") {
			t.Fatalf("detail path requested: %s", p)
		}
	}
	mustNotLeak(t, res, canary, canary[:9])
	var text strings.Builder
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"OK", "jdoe", "loader", "missing_scope:build:read", "loadable:"} {
		if !strings.Contains(text.String(), w) {
			t.Errorf("text lacks %q:\n%s", w, text.String())
		}
	}
}

func TestCheckKeyInvalid(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.echoKey = true
	wrong := "cfk-WRONG-1234567890"
	res := f.check(t, wrong, fastCheck)
	if res.Status != CheckKeyInvalid || !strings.Contains(res.Message, "codefresh-mcp secrets set") ||
		!strings.Contains(res.Message, secrets.Fingerprint(wrong)) {
		t.Fatalf("got %s: %s", res.Status, res.Message)
	}
	// GET /auth/keys goes out with GET /user; no probe follows a 401.
	if res.Capabilities != nil || res.User != nil || len(f.hits) > 2 || f.hits["/user"] != 1 {
		t.Fatalf("probed after a 401: %+v %v", res, f.hits)
	}
	mustNotLeak(t, res, wrong)
}

func TestCheckUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/api"
	srv.Close()
	res, err := Check(context.Background(), fakeCreds(canary, base), fastCheck)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != CheckUnreachable || !strings.Contains(res.Message, base) || !strings.Contains(res.Message, "--base-url") {
		t.Fatalf("got %s: %s", res.Status, res.Message)
	}
}

func TestCheckRedactsEchoedKey(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.echoKey = true
	f.status["/pipelines"] = 400
	f.status["/auth/keys"] = 500
	res := f.check(t, canary, fastCheck)
	if c := capability(t, res, "pipelines"); c.Status != CapError || !strings.Contains(c.Message, "nope for") {
		t.Fatalf("pipelines %+v", c)
	}
	if res.Key.Matched || !strings.Contains(res.Key.Note, "cannot list API keys") {
		t.Fatalf("key %+v", res.Key)
	}
	mustNotLeak(t, res, canary)
}

func TestMatchKey(t *testing.T) {
	cases := []struct {
		name, body string
		matched    bool
		want       string // name, or a note fragment
		scopes     string
	}{
		{"no scopes means all", `[{"name":"admin","tokenPrefix":"cfk-CANAR"}]`, true, "admin", "all"},
		{"longest prefix wins", `[{"name":"short","tokenPrefix":"cfk-"},{"name":"long","tokenPrefix":"cfk-CANARY","scopes":["build:read"]}]`, true, "long", "build:read"},
		{"no match", `[{"name":"x","tokenPrefix":"zzz"},{"name":"y","tokenPrefix":""}]`, false, "none of the account's 2", ""},
		{"tie", `[{"name":"a","tokenPrefix":"cfk-C"},{"name":"b","tokenPrefix":"cfk-C"}]`, false, "2 API keys share", ""},
		{"not a list", `{"docs":[]}`, false, "did not return a list", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, canary)
			f.keysBody = tc.body
			res := f.check(t, canary, Options{SkipMatrix: true})
			k := res.Key
			got := k.Note
			if k.Matched {
				got = k.Name
			}
			if k.Matched != tc.matched || !strings.Contains(got, tc.want) || strings.Join(k.Scopes, ",") != tc.scopes {
				t.Fatalf("got %+v", k)
			}
			if len(f.hits) != 2 {
				t.Fatalf("SkipMatrix probed: %v", f.hits)
			}
			// A key found in the list has its capabilities from its scopes.
			if k.Matched != (res.Matrix == MatrixFromScopes && len(res.Capabilities) == len(codefresh.Catalog())) {
				t.Fatalf("matrix %q, %d capabilities", res.Matrix, len(res.Capabilities))
			}
		})
	}
	t.Run("403", func(t *testing.T) {
		f := newFakeAPI(t, canary)
		f.status["/auth/keys"] = 403
		res := f.check(t, canary, Options{SkipMatrix: true})
		if res.Key.Matched || !strings.Contains(res.Key.Note, "api-keys:read") {
			t.Fatalf("key %+v", res.Key)
		}
	})
}

func TestResolveAndCheckNoKey(t *testing.T) {
	o := secretsWorld(t, map[string]string{})
	res, creds, err := ResolveAndCheck(context.Background(), o, Options{})
	if err != nil || creds != nil {
		t.Fatal(err, creds)
	}
	if res.Status != CheckNoKey || len(res.Sources) != 5 || !strings.Contains(res.Message, "secrets set") {
		t.Fatalf("got %+v", res)
	}
}

func TestCheckOfflineAndCancel(t *testing.T) {
	res, err := Check(context.Background(), fakeCreds(canary, "http://127.0.0.1:1/api"), Options{Offline: true})
	if err != nil || res.Status != CheckOffline || res.Source != secrets.SourceKeyring {
		t.Fatalf("%v %+v", err, res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, fakeCreds(canary, "http://127.0.0.1:1/api"), Options{}); err == nil {
		t.Fatal("cancelled check returned no error")
	}
	if _, err := Check(context.Background(), nil, Options{}); err == nil {
		t.Fatal("nil credentials accepted")
	}
}

func TestCheckDetailWithoutParentListed(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.status["/workflow"] = 403
	srv := httptest.NewServer(f)
	defer srv.Close()
	byID, _ := codefresh.Lookup("builds_by_id")
	pipelines, _ := codefresh.Lookup("pipelines")
	res, err := Check(context.Background(), fakeCreds(canary, srv.URL+"/api"),
		Options{Resources: []codefresh.Resource{byID, pipelines}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Capabilities) != 2 || res.Capabilities[0].Status != "missing_scope:build:read" ||
		res.Capabilities[0].Inherits != "builds" || res.Capabilities[1].Status != CapLoadable {
		t.Fatalf("got %+v", res.Capabilities)
	}
	if f.hits["/workflow"] != 1 || f.hits["/pipelines"] != 1 || len(f.hits) != 4 { // + /user, /auth/keys
		t.Fatalf("hits %v", f.hits)
	}
}

// Without probes the capabilities follow the key's scopes: an exact scope,
// its area ("build" covers build:read) or "all"; a resource needing none is
// always loadable.
func TestCapabilitiesFromScopes(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.keysBody = `[{"name":"ci","tokenPrefix":"` + canary[:9] + `","scopes":["build","pipeline:read"]}]`
	res := f.check(t, canary, Options{SkipMatrix: true})
	for name, want := range map[string]string{
		"builds": CapLoadable, "pipelines": CapLoadable, "user": CapLoadable,
		"projects": CapMissingScope + ":project:read", "images": CapMissingScope + ":image:read",
	} {
		if got := capability(t, res, name).Status; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if res.Matrix != MatrixFromScopes || len(f.hits) != 2 {
		t.Errorf("matrix %q, requests %v", res.Matrix, f.hits)
	}
}

// The probe is concurrent and bounded: a resource that does not answer in
// time is not_checked, the others are answered, and the check returns at
// its time limit.
func TestProbeTimeLimit(t *testing.T) {
	f := newFakeAPI(t, canary)
	f.delay = map[string]time.Duration{"/workflow": time.Minute}
	for _, r := range codefresh.Catalog() {
		if !r.IsDetail() && r.Path != "/workflow" {
			f.delay[r.Path] = 200 * time.Millisecond
		}
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	start := time.Now()
	res, err := Check(context.Background(), fakeCreds(canary, srv.URL+"/api"), Options{ProbeTimeout: 2 * time.Second, RetryBaseWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// 25-odd probes of 200 ms each, 16 at a time: serially they would take 5 s.
	if took < 2*time.Second || took > 4*time.Second {
		t.Errorf("check took %s, want about its 2 s limit", took)
	}
	if got := capability(t, res, "builds"); got.Status != CapNotChecked || !strings.Contains(got.Message, "alone") {
		t.Errorf("builds: %+v", got)
	}
	if got := capability(t, res, "builds_by_id"); got.Status != CapNotChecked || got.Inherits != "builds" {
		t.Errorf("builds_by_id: %+v", got)
	}
	if got := capability(t, res, "pipelines").Status; got != CapLoadable {
		t.Errorf("pipelines: %s", got)
	}
	if res.Matrix != MatrixProbed || res.Status != CheckOK {
		t.Errorf("status %s, matrix %q", res.Status, res.Matrix)
	}
}
