package cfsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// shape maps every field path of a JSON value ("docs[].metadata.id") to its
// JSON type; array items are merged, so a path is present when any item has it.
// Below a path in dynamic, keys are data (step names, variable names), not
// field names: only the container's type is recorded.
func shape(v any, path string, dynamic map[string]bool, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[path] = "object"
		if dynamic[path] {
			return
		}
		for k, c := range x {
			shape(c, path+"."+k, dynamic, out)
		}
	case []any:
		out[path] = "array"
		for _, c := range x {
			shape(c, path+"[]", dynamic, out)
		}
	case nil:
		if _, seen := out[path]; !seen {
			out[path] = "null"
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	}
}

func loadSample(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	return v
}

// compareShape requires every field path of the sample in the simulated
// body with a compatible type (null matches anything) and, for a list
// envelope, exactly the sample's top-level keys.
func compareShape(t *testing.T, sample, got any, dynamic map[string]bool, envelope bool) {
	t.Helper()
	want, have := map[string]string{}, map[string]string{}
	shape(sample, "", dynamic, want)
	shape(got, "", dynamic, have)
	var missing []string
	for p, typ := range want {
		h, ok := have[p]
		switch {
		case !ok:
			missing = append(missing, p)
		case typ != h && typ != "null" && h != "null":
			t.Errorf("field %q: sample has %s, simulator %s", p, typ, h)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("fields in the sample the simulator does not send: %v", missing)
	}
	if sm, ok := sample.(map[string]any); ok {
		gm, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("envelope: sample is an object, simulator sent %T", got)
		}
		if a, b := keys(sm), keys(gm); envelope && strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("envelope keys: sample %v, simulator %v", a, b)
		}
	}
	if _, ok := sample.([]any); ok {
		if _, ok := got.([]any); !ok {
			t.Errorf("envelope: sample is a bare array, simulator sent %T", got)
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSampleShapes serves every sample-shaped endpoint and compares field
// names, types and envelopes with the public/synthetic samples.
func TestSampleShapes(t *testing.T) {
	s := newTestServer(t, Config{Seed: 7, Builds: 400})
	// Pick builds that show every optional field: a git-triggered success.
	var gitSuccess string
	p := workflowPage(t, s, "limit=200&status=success", "X-Pagination-Session-Id", "pick")
	for _, d := range p.docs {
		if str(d, "triggerType") == "git" {
			gitSuccess = str(d, "id")
			break
		}
	}
	if gitSuccess == "" {
		t.Fatal("no git-triggered successful build")
	}
	build := getJSON(t, s, "/builds/"+gitSuccess)
	accountID := str(list(getJSON(t, s, "/user"), "account")[0], "id")

	cases := []struct {
		sample, path string
		dynamic      []string
		object       bool // a single object, not a list envelope: extra fields are fine
	}{
		{"user.json", "/user", []string{".account[].features"}, true},
		{"projects_list.json", "/projects", nil, false},
		{"pipelines_list.json", "/pipelines", []string{".docs[].spec.steps"}, false},
		{"pipeline_get.json", "/pipelines/" + url.PathEscape("backend/build"), []string{".spec.steps"}, true},
		{"pipelines_names.UNVERIFIED.json", "/pipelines/names", nil, false},
		{"workflow_list.json", "/workflow?limit=50", nil, false},
		{"build_get.json", "/builds/" + gitSuccess, nil, true},
		{"progress_get.json", "/progress/" + str(build, "progress"), nil, true},
		{"workflow_context_revision.docs-example.json", "/workflow/" + gitSuccess + "/context-revision", []string{"[].context.stepsMetadata"}, false},
		{"workflow_data_items.json", "/workflow/" + gitSuccess + "/data", []string{".docs[].data"}, false},
		{"images_list.json", "/images", []string{".docs[].metadata"}, false},
		{"step_types_list.json", "/step-types", []string{".docs[].metadata.examples[].workflow.steps"}, false},
		{"step_type_get.docs-example.json", "/step-types/git-clone", []string{".metadata.examples[].workflow.steps"}, true},
		{"hermes_triggers.json", "/hermes/triggers", nil, false},
		{"hermes_events.json", "/hermes/events", nil, false},
		{"auth_keys.json", "/auth/keys", nil, false},
		{"teams.json", "/team", nil, false},
		{"abac_rules.json", "/abac", nil, false},
		{"agents.json", "/agents", nil, false},
		{"runtime_environments.json", "/runtime-environments", nil, false},
		{"registries.json", "/registries", nil, false},
		{"contexts_list.json", "/contexts", []string{"[].spec.data"}, false},
		{"annotations.json", "/annotations", nil, false},
		{"audit.UNVERIFIED-envelope.json", "/audit", nil, false},
		{"helm_repos.json", "/helm/repos", nil, false},
		{"clusters.json", "/clusters", nil, false},
		{"account_users.json", "/accounts/" + accountID + "/users", nil, false},
	}
	for _, c := range cases {
		t.Run(c.sample, func(t *testing.T) {
			dyn := map[string]bool{}
			for _, d := range c.dynamic {
				dyn[d] = true
			}
			s := newTestServer(t, Config{Seed: 7, Builds: 400}) // fresh cursor per case
			compareShape(t, loadSample(t, c.sample), getJSON(t, s, c.path), dyn, !c.object)
		})
	}
}

// TestErrorShapes compares the error bodies with the quoted real ones.
func TestErrorShapes(t *testing.T) {
	s := newTestServer(t, Config{Seed: 1, Scopes: []string{"project:read", "pipeline:read"}})
	for _, c := range []struct {
		sample string
		path   string
		hdr    []string
		status int
	}{
		{"error_401.json", "/user", []string{"Authorization", "wrong-key"}, http.StatusUnauthorized},
		{"error_403.json", "/workflow", nil, http.StatusForbidden},
		{"error_404.json", "/pipelines/" + url.PathEscape("no/such"), nil, http.StatusNotFound},
	} {
		code, body, _ := do(t, s, c.path, c.hdr...)
		if code != c.status {
			t.Fatalf("%s: status %d, want %d", c.path, code, c.status)
		}
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		compareShape(t, loadSample(t, c.sample), got, map[string]bool{".context": true}, false)
		if int(at(got, "status").(float64)) != c.status {
			t.Errorf("%s: body status %v", c.path, at(got, "status"))
		}
	}
}

var (
	objectID = regexp.MustCompile(`^[0-9a-f]{24}$`)
	isoMilli = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// TestIDsAndTimestamps: ids are 24-hex ObjectIds and build/pipeline times
// ISO-8601 UTC with milliseconds.
func TestIDsAndTimestamps(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Builds: 300})
	p := workflowPage(t, s, "limit=300")
	if len(p.docs) != 300 {
		t.Fatalf("got %d builds", len(p.docs))
	}
	for _, d := range p.docs {
		for _, k := range []string{"id", "serviceId", "projectId", "progress", "account"} {
			if !objectID.MatchString(str(d, k)) {
				t.Fatalf("%s = %q is not an ObjectId", k, str(d, k))
			}
		}
		for _, k := range []string{"created", "started", "finished"} {
			v := at(d, k)
			if v == nil && k != "created" {
				continue
			}
			if !isoMilli.MatchString(v.(string)) {
				t.Fatalf("%s = %v is not ISO-8601 with milliseconds", k, v)
			}
		}
	}
	for _, d := range list(getJSON(t, s, "/pipelines?limit=100"), "docs") {
		if !objectID.MatchString(str(d, "metadata", "id")) || !isoMilli.MatchString(str(d, "metadata", "updated_at")) {
			t.Fatalf("pipeline metadata %v", at(d, "metadata"))
		}
	}
}
