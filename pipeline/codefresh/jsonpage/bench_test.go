package jsonpage

import (
	"strings"
	"testing"
)

// benchRecord is a pipeline as Codefresh sends it, pretty-printed: keyed
// steps, variables with values, the YAML.
var benchRecord = []byte(`{"metadata": {"id": "p1", "name": "demo"}, "spec": {"steps": {` +
	strings.Repeat(`"build_X": {"type": "build", "image_name": "org/app", "tag": "${{CF_BRANCH}}", "env": [{"key": "A", "value": "secret"}]}, `, 20) +
	`"last": {"type": "freestyle"}}, "variables": [{"key": "K", "value": "V"}], "yaml": "` + strings.Repeat(`version: \"1.0\"\nsteps:\n  build:\n    image: x\n`, 20) + `"}}`)

// BenchmarkStrip is the path of records with whitespace in them.
func BenchmarkStrip(b *testing.B) {
	paths := []string{"spec.steps.*.env.*.value", "spec.variables.*.value", "token"}
	for b.Loop() {
		_ = Strip(benchRecord, paths)
	}
}

// BenchmarkKeys is the key order Prepare asks for, once per pipeline.
func BenchmarkKeys(b *testing.B) {
	for b.Loop() {
		if keys, _ := Keys(benchRecord, "spec", "steps"); len(keys) != 21 {
			b.Fatal(keys)
		}
	}
}
