package tools_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/secrets"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func capability(out tools.CheckCredentialsOut, resource string) string {
	for _, c := range out.Capabilities {
		if c.Resource == resource {
			return c.Status
		}
	}
	return ""
}

// By default the check is one round trip (GET /user and GET /auth/keys at
// once); probe=true probes every resource, concurrently. The simulator
// answers each request after 400 ms: the old serial matrix took 9 of them.
func TestCheckCredentials(t *testing.T) {
	const latency = 400 * time.Millisecond
	e := newEnv(t, envOpts{sim: cfsim.Config{Latency: latency}})
	var out tools.CheckCredentialsOut
	start := time.Now()
	e.ok("check_credentials", nil, &out)
	if took := time.Since(start); took > 2*latency+300*time.Millisecond {
		t.Errorf("default check took %s at %s a request, want one round trip", took, latency)
	}
	if out.Status != pipeline.CheckOK || out.Source != "env:"+secrets.EnvAPIKey || out.Fingerprint == "" || out.BaseURL != e.base {
		t.Fatalf("check = %+v", out.CheckResult)
	}
	if out.User == nil || out.User.Name == "" {
		t.Fatalf("user = %+v", out.User)
	}
	// The simulator's key list never matches the key (its prefixes are
	// random), so no scopes: nothing is claimed, probe=true is suggested.
	if out.Capabilities != nil || out.Matrix != "" || !strings.Contains(out.Next, "probe=true") {
		t.Fatalf("default check: matrix %q, %d capabilities, next %q", out.Matrix, len(out.Capabilities), out.Next)
	}

	start = time.Now()
	e.ok("check_credentials", map[string]any{"probe": true}, &out)
	if took := time.Since(start); took > 5*latency+500*time.Millisecond {
		t.Errorf("probe took %s at %s a request, want concurrent probes", took, latency)
	}
	if got := capability(out, "builds"); got != pipeline.CapLoadable || out.Matrix != pipeline.MatrixProbed {
		t.Fatalf("builds capability = %q, matrix %q", got, out.Matrix)
	}
	if len(out.Capabilities) != out.Summary[pipeline.CapLoadable] || !strings.Contains(out.Next, "preview_endpoint") {
		t.Fatalf("summary %v, next %q", out.Summary, out.Next)
	}
}

func TestCheckCredentialsMissingScope(t *testing.T) {
	e := newEnv(t, envOpts{sim: cfsim.Config{Scopes: []string{"pipeline:read", "project:read"}}})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", map[string]any{"resources": []string{"builds", "pipelines"}}, &out)
	if got := capability(out, "builds"); !strings.HasPrefix(got, pipeline.CapMissingScope) || !strings.Contains(got, "build:read") {
		t.Fatalf("builds = %q, want missing_scope:build:read", got)
	}
	if got := capability(out, "pipelines"); got != pipeline.CapLoadable {
		t.Fatalf("pipelines = %q", got)
	}
	if len(out.Capabilities) != 2 {
		t.Fatalf("probed %d resources, want the 2 asked for", len(out.Capabilities))
	}
}

func TestCheckCredentialsWrongKey(t *testing.T) {
	// The simulator accepts another key: ours (the canary) is invalid there.
	e := newEnv(t, envOpts{sim: cfsim.Config{APIKey: "cfk-the-right-one-0123456789"}})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	if out.Status != pipeline.CheckKeyInvalid || !strings.Contains(out.Next, "secrets set") {
		t.Fatalf("check = %+v next %q", out.CheckResult, out.Next)
	}
}

func TestCheckCredentialsNoKey(t *testing.T) {
	e := newEnv(t, envOpts{noKey: true})
	var out tools.CheckCredentialsOut
	e.ok("check_credentials", nil, &out)
	if out.Status != pipeline.CheckNoKey || !strings.Contains(out.Next, "codefresh-mcp secrets set") {
		t.Fatalf("check = %+v next %q", out.CheckResult, out.Next)
	}
	if len(out.Sources) == 0 {
		t.Fatal("no source report")
	}
}
