package codefresh_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

func TestPrepareKeyedObjectsKeepOrder(t *testing.T) {
	raw := `{"metadata":{"id":"p1"},"spec":{"steps":{"zeta":{"type":"freestyle","image":"alpine"},"alpha":{"title":"A","name":"ignored"},"mid":"plain"},"stages":["a"]}}`
	rec := decode(t, raw)
	r, _ := codefresh.Lookup("pipelines")
	r.Prepare(rec, json.RawMessage(raw))
	steps, ok := rec["spec"].(map[string]any)["steps"].([]any)
	if !ok || len(steps) != 3 {
		t.Fatalf("spec.steps = %#v", rec["spec"])
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "zeta,alpha,mid" {
		t.Errorf("order = %v, want zeta,alpha,mid (document order)", names)
	}
	if steps[0].(map[string]any)["image"] != "alpine" || steps[2].(map[string]any)["value"] != "plain" {
		t.Errorf("step fields lost: %#v", steps)
	}
	once, _ := json.Marshal(rec)
	r.Prepare(rec, json.RawMessage(raw)) // a second Prepare changes nothing
	if twice, _ := json.Marshal(rec); string(twice) != string(once) {
		t.Errorf("Prepare is not idempotent:\n%s\n%s", once, twice)
	}
	// Without raw: sorted, still a list.
	rec = decode(t, raw)
	r.Prepare(rec, nil)
	steps = rec["spec"].(map[string]any)["steps"].([]any)
	if steps[0].(map[string]any)["name"] != "alpha" {
		t.Errorf("fallback order: %#v", steps)
	}
}

func TestPrepareDropsSecrets(t *testing.T) {
	trig := `{"event":"registry:x","pipeline":"p","event-data":{"uri":"registry:x","secret":"S3CRET","endpoint":"https://g/nomios?secret=S3CRET"}}`
	rec := decode(t, trig)
	r, _ := codefresh.Lookup("triggers")
	r.Prepare(rec, json.RawMessage(trig))
	ed := rec["event-data"].(map[string]any)
	if _, ok := ed["secret"]; ok {
		t.Error("event-data.secret kept")
	}
	if _, ok := ed["endpoint"]; ok {
		t.Error("event-data.endpoint kept")
	}
	if ed["uri"] != "registry:x" || rec["pipeline"] != "p" {
		t.Errorf("non-secret fields lost: %#v", rec)
	}

	build := `{"id":"b","exposedVariables":{"pipeline":[{"key":"A","value":"S3CRET"}],"project":[{"key":"B","value":"S3CRET"},{"key":"C"}]}}`
	rec = decode(t, build)
	b, _ := codefresh.Lookup("builds")
	b.Prepare(rec, json.RawMessage(build))
	out, _ := json.Marshal(rec)
	if strings.Contains(string(out), "S3CRET") || !strings.Contains(string(out), `"key":"B"`) {
		t.Errorf("builds after Prepare: %s", out)
	}

	ctx := `{"metadata":{"name":"c"},"spec":{"type":"secret","data":{"TOKEN":"S3CRET"}}}`
	rec = decode(t, ctx)
	c, _ := codefresh.Lookup("contexts")
	c.Prepare(rec, json.RawMessage(ctx))
	if _, ok := rec["spec"].(map[string]any)["data"]; ok {
		t.Error("contexts spec.data kept")
	}
}

func TestPrepareStepsMetadataOrder(t *testing.T) {
	raw := `{"_id":"r1","context":{"stepsMetadata":{"Initializing Process":{"status":"success"},"Initializing":{},"test":{"type":"x"},"build":{"status":"error"}}}}`
	rec := decode(t, raw)
	r, _ := codefresh.Lookup("build_steps")
	r.Prepare(rec, json.RawMessage(raw))
	steps := rec["context"].(map[string]any)["stepsMetadata"].([]any)
	var names []string
	for _, s := range steps {
		names = append(names, s.(map[string]any)["name"].(string))
	}
	if strings.Join(names, "|") != "Initializing Process|Initializing|test|build" {
		t.Errorf("order = %v", names)
	}
}

func TestPrepareMalformedRawFallsBack(t *testing.T) {
	rec := decode(t, `{"spec":{"steps":{"b":{},"a":{}}}}`)
	r, _ := codefresh.Lookup("pipelines")
	r.Prepare(rec, json.RawMessage(`{"spec":{"steps":{"b":{},"a":`)) // cut: sorted order, no panic
	steps := rec["spec"].(map[string]any)["steps"].([]any)
	if len(steps) != 2 || steps[0].(map[string]any)["name"] != "a" {
		t.Errorf("steps = %v", steps)
	}
}
