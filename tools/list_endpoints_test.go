package tools_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/tools"
)

func TestListEndpoints(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", nil, &out)
	if out.Count != len(codefresh.Catalog()) || out.Count < 18 || len(out.Endpoints) != out.Count {
		t.Fatalf("count = %d, endpoints %d, catalog %d", out.Count, len(out.Endpoints), len(codefresh.Catalog()))
	}
	if !slices.Equal(out.Enabled, codefresh.DefaultResources()) {
		t.Fatalf("enabled = %v, want the catalog defaults %v", out.Enabled, codefresh.DefaultResources())
	}
	var builds *tools.Endpoint
	for i, ep := range out.Endpoints {
		if ep.Name == "builds" {
			builds = &out.Endpoints[i]
		}
		if ep.Enabled != slices.Contains(out.Enabled, ep.Name) {
			t.Errorf("%s: enabled flag %v disagrees with the enabled list", ep.Name, ep.Enabled)
		}
	}
	if builds == nil || builds.Path != "/workflow" || builds.RecordsAt != "workflows.docs" || builds.Scope != "build:read" || !builds.Enabled {
		t.Fatalf("builds = %+v", builds)
	}
}

func TestListEndpointsFilters(t *testing.T) {
	e := newEnv(t, envOpts{})
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", map[string]any{"name": "BUILD"}, &out)
	if out.Count == 0 {
		t.Fatal("no endpoint matches build")
	}
	for _, ep := range out.Endpoints {
		if !strings.Contains(ep.Name, "build") && !strings.Contains(strings.ToLower(ep.Path), "build") {
			t.Errorf("%s (%s) does not match the name filter", ep.Name, ep.Path)
		}
	}
	e.ok("list_endpoints", map[string]any{"scope": "pipeline"}, &out)
	if out.Count == 0 {
		t.Fatal("no endpoint needs a pipeline scope")
	}
	for _, ep := range out.Endpoints {
		if !strings.HasPrefix(ep.Scope, "pipeline") {
			t.Errorf("%s has scope %q", ep.Name, ep.Scope)
		}
	}
	e.ok("list_endpoints", map[string]any{"enabled_only": true}, &out)
	if out.Count != len(codefresh.DefaultResources()) {
		t.Fatalf("enabled_only gave %d, want %d", out.Count, len(codefresh.DefaultResources()))
	}
}

func TestListEndpointsShowsConfiguredResources(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.ok("configure_pipeline", map[string]any{"enable": []string{"teams"}, "disable": []string{"images"}}, nil)
	var out tools.ListEndpointsOut
	e.ok("list_endpoints", map[string]any{"name": "teams"}, &out)
	if out.Count != 1 || !out.Endpoints[0].Enabled {
		t.Fatalf("teams after enabling = %+v", out.Endpoints)
	}
	if slices.Contains(out.Enabled, "images") {
		t.Fatalf("images still enabled: %v", out.Enabled)
	}
}

func TestUnknownArgumentIsAToolError(t *testing.T) {
	e := newEnv(t, envOpts{})
	text := e.fail("list_endpoints", map[string]any{"filter": "x"})
	if !strings.Contains(text, "filter") || !strings.Contains(text, "name, scope, enabled_only") {
		t.Fatalf("error = %q", text)
	}
}
