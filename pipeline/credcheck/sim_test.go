package credcheck

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
)

func simURL(t *testing.T, cfg cfsim.Config) string {
	t.Helper()
	srv := httptest.NewServer(cfsim.New(cfg).Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

// Against the simulator: a key without build:read cannot load builds (nor
// their detail resources) but loads pipelines; GET /user and /auth/keys
// describe the user and the key.
func TestCheckAgainstSimulator(t *testing.T) {
	var scopes []string
	for _, s := range codefresh.Scopes() {
		if s != "build:read" {
			scopes = append(scopes, s)
		}
	}
	base := simURL(t, cfsim.Config{Seed: 3, Pipelines: 3, Builds: 10, APIKey: canary, Scopes: scopes})
	res, err := Check(context.Background(), fakeCreds(canary, base), fastCheck)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != CheckOK || res.User == nil || res.User.Name == "" || res.User.ActiveAccount == "" || res.User.AccountID == "" {
		t.Fatalf("status %s user %+v: %s", res.Status, res.User, res.Message)
	}
	for name, want := range map[string]string{
		"builds":       "missing_scope:build:read",
		"builds_by_id": "missing_scope:build:read",
		"pipelines":    CapLoadable,
		"projects":     CapLoadable,
		"user":         CapLoadable,
	} {
		if c := capability(t, res, name); c.Status != want {
			t.Errorf("%s: %s (%s), want %s", name, c.Status, c.Message, want)
		}
	}
	for _, c := range res.Capabilities {
		if c.Status == CapError || c.Status == CapTransient {
			t.Errorf("%s: %s %s", c.Resource, c.Status, c.Message)
		}
	}
	// The simulator's /auth/keys never carries the configured key's prefix,
	// so the key stays unmatched here; matching is tested in check_test.go.
	if res.Key == nil || res.Key.Matched || res.Key.Note == "" {
		t.Errorf("key %+v", res.Key)
	}
	mustNotLeak(t, res, canary)

	wrong, err := Check(context.Background(), fakeCreds("cfk-WRONG-1234567890", base), fastCheck)
	if err != nil {
		t.Fatal(err)
	}
	if wrong.Status != CheckKeyInvalid {
		t.Fatalf("wrong key: %s %s", wrong.Status, wrong.Message)
	}
}
