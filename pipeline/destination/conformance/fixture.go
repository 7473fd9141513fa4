// Package conformance holds the fixture loads every destination must
// commit alike (its tests run them against DuckDB, PostgreSQL and Parquet)
// and the staged packages the load benchmark uses.
package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Names of the fixture.
const (
	Pipeline   = "codefresh_pipeline"
	SchemaName = "codefresh"
)

// resource is a catalog-like resource of the fixture.
type resource struct {
	name, disposition string
	key               []string
}

var (
	pipelinesRes = resource{"pipelines", destination.Replace, []string{"id"}}
	buildsRes    = resource{"builds", destination.Merge, []string{"id"}}
	imagesRes    = resource{"images", destination.Append, nil}
)

// Builder makes the packages of successive loads the way a pipeline run
// does: one schema evolving across loads, records normalized into a stage.
type Builder struct {
	Dataset  string
	StageDir string // "" = os.TempDir
	schema   *normalize.Schema
}

// NewBuilder starts a fresh schema for dataset.
func NewBuilder(dataset, stageDir string) *Builder {
	return &Builder{Dataset: dataset, StageDir: stageDir, schema: normalize.NewSchema(SchemaName)}
}

// records of one resource in one load.
type batch struct {
	res  resource
	recs []map[string]any
}

// build normalizes batches into a new stage and returns the package; the
// caller closes pkg.Stage.
func (b *Builder) build(ctx context.Context, loadID string, state any, batches ...batch) (*destination.Package, error) {
	st, err := stage.OpenIn(ctx, b.StageDir, b.Dataset) // as a pipeline run stages
	if err != nil {
		return nil, err
	}
	norm := normalize.New(b.schema, normalize.Options{LoadID: loadID})
	var done []string
	for _, bt := range batches {
		b.schema.EnsureRoot(bt.res.name, bt.res.name, bt.res.disposition, bt.res.key)
		for _, rec := range bt.recs {
			// Normalizing consumes the map: give it a copy.
			var cp map[string]any
			raw, _ := json.Marshal(rec)
			json.Unmarshal(raw, &cp)
			if err := norm.Normalize(bt.res.name, cp, st); err != nil {
				st.Close()
				return nil, fmt.Errorf("fixture %s: %w", bt.res.name, err)
			}
		}
		done = append(done, bt.res.name)
	}
	if err := st.Flush(ctx); err != nil {
		st.Close()
		return nil, err
	}
	rawState, err := json.Marshal(state)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &destination.Package{LoadID: loadID, PipelineName: Pipeline, Dataset: b.Dataset, Schema: b.schema.Clone(),
		Stage: st, Resources: done, State: rawState}, nil
}

// Load ids of the fixture loads, in commit order.
const (
	Load1 = "1704067200.000001"
	Load2 = "1704153600.000002"
	Load3 = "1704240000.000003"
	Load4 = "1704326400.000004" // the failing load
)

func pipelineRec(id, name, project string, tags ...string) map[string]any {
	t := make([]any, len(tags))
	for i, s := range tags {
		t[i] = s
	}
	return map[string]any{
		"metadata": map[string]any{"id": id, "name": name, "project": project, "labels": map[string]any{"tags": t},
			"created_at": "2023-12-0" + id[1:] + "T10:00:00Z"},
		"spec": map[string]any{"triggers": []any{map[string]any{"type": "git", "events": []any{"push", "pr"}}}, "concurrency": 2},
		"id":   id,
	}
}

func buildRec(id, status string, progress float64, steps ...string) map[string]any {
	st := make([]any, len(steps))
	for i, s := range steps {
		st[i] = map[string]any{"name": s, "status": status, "duration": float64(10 * (i + 1))}
	}
	return map[string]any{
		"id": id, "status": status, "progress": progress, "finished": status != "running",
		"created": "2024-01-01T1" + id[1:] + ":00:00Z", "pipelineId": "p1",
		"steps":       st,
		"annotations": []any{map[string]any{"key": "team", "value": "core"}},
		"variables":   map[string]any{"env": "prod", "retries": float64(len(steps))},
	}
}

func state(cursor string) any {
	return map[string]any{"sources": map[string]any{"codefresh": map[string]any{"resources": map[string]any{
		"builds": map[string]any{"incremental": map[string]any{"created": map[string]any{"last_value": cursor}}}}}}}
}

// Loads are the three good fixture loads: replace, merge and append, with
// child tables, a schema that gains a column and a table in load 2, a key
// staged twice in one load (the last wins) and load 3 repeating load 2
// (merge twice leaves no duplicates). The caller closes each Stage.
func (b *Builder) Loads(ctx context.Context) ([]*destination.Package, error) {
	l1, err := b.build(ctx, Load1, state("2024-01-01T13:00:00Z"),
		batch{pipelinesRes, []map[string]any{
			pipelineRec("p1", "build-api", "api", "go", "backend"),
			pipelineRec("p2", "deploy-web", "web"),
			pipelineRec("p3", "nightly", "ops", "cron"),
		}},
		batch{buildsRes, []map[string]any{
			buildRec("b1", "success", 1, "clone", "build", "push"),
			buildRec("b2", "error", 0.5, "clone", "build"),
			buildRec("b3", "running", 0.25, "clone"),
			buildRec("b4", "success", 1),
		}})
	if err != nil {
		return nil, err
	}
	second := func(loadID string) (*destination.Package, error) {
		b5 := buildRec("b5", "success", 1, "clone", "deploy")
		b5["trigger"] = "webhook" // a new column
		b5early := buildRec("b5", "running", 0.1, "clone")
		return b.build(ctx, loadID, state("2024-01-02T00:00:00Z"),
			batch{pipelinesRes, []map[string]any{
				pipelineRec("p1", "build-api", "api", "go"),
				pipelineRec("p4", "release", "api", "release", "prod"),
			}},
			batch{buildsRes, []map[string]any{
				buildRec("b2", "success", 1, "clone", "build", "test", "push"), // replaces b2 and its steps
				b5early, b5, // the same key twice: the last wins
			}},
			batch{imagesRes, []map[string]any{
				{"id": "i1", "tag": "v1", "size": float64(1024), "created": "2024-01-02T01:00:00Z"},
				{"id": "i2", "tag": "v2", "size": 2048.5, "created": "2024-01-02T02:00:00Z"},
			}})
	}
	l2, err := second(Load2)
	if err != nil {
		l1.Stage.Close()
		return nil, err
	}
	l3, err := second(Load3)
	if err != nil {
		l1.Stage.Close()
		l2.Stage.Close()
		return nil, err
	}
	return []*destination.Package{l1, l2, l3}, nil
}

// Failing is a load that fails half-way in every destination: it replaces
// pipelines and merges builds (with a new column), then stages for images a
// size that is text where the schema says double, which no destination
// can store. Resources are in that order. The caller closes the Stage.
func (b *Builder) Failing(ctx context.Context) (*destination.Package, error) {
	pkg, err := b.build(ctx, Load4, state("2024-01-09T00:00:00Z"),
		batch{pipelinesRes, []map[string]any{pipelineRec("p9", "other", "x")}},
		batch{buildsRes, []map[string]any{func() map[string]any {
			r := buildRec("b1", "error", 0, "clone")
			r["extra_field"] = true
			return r
		}()}})
	if err != nil {
		return nil, err
	}
	images := pkg.Table("images")
	if images == nil {
		pkg.Stage.Close()
		return nil, fmt.Errorf("fixture: the failing load needs the images table of the good loads")
	}
	bad := *images
	bad.Columns = nil
	for _, c := range images.Columns {
		cc := *c
		if cc.Name == "size" {
			cc.DataType = normalize.Text
		}
		bad.Columns = append(bad.Columns, &cc)
	}
	row := make([]any, len(bad.Columns))
	for i, c := range bad.Columns {
		switch c.Name {
		case "size":
			row[i] = "not a number"
		case normalize.ColLoadID:
			row[i] = Load4
		case normalize.ColID:
			row[i] = "bad-image"
		}
	}
	if err := pkg.Stage.Write(&bad, row); err != nil {
		pkg.Stage.Close()
		return nil, err
	}
	pkg.Resources = append(pkg.Resources, "images")
	return pkg, nil
}

// BuildRows stages n build-shaped records (each with three steps, so 4n
// rows) as one load of a fresh schema, for the load benchmark.
func BuildRows(ctx context.Context, dataset, stageDir, loadID string, n int) (*destination.Package, error) {
	b := NewBuilder(dataset, stageDir)
	recs := make([]map[string]any, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []string{"success", "error", "terminated", "running"}
	for i := range recs {
		r := buildRec("b0", statuses[i%len(statuses)], float64(i%100)/100, "clone", "build", "push")
		r["id"] = fmt.Sprintf("build-%08d", i)
		r["created"] = base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		r["pipelineId"] = fmt.Sprintf("p%d", i%50)
		r["commit"] = map[string]any{"sha": fmt.Sprintf("%040x", i), "author": "dev", "message": "change number " + fmt.Sprint(i)}
		recs[i] = r
	}
	return b.build(ctx, loadID, state(base.Format(time.RFC3339)), batch{buildsRes, recs})
}

// Measurement is one timed commit.
type Measurement struct {
	Destination string        `json:"destination"`
	Rows        int64         `json:"rows"` // staged rows of every table
	Duration    time.Duration `json:"duration"`
	RowsPerSec  float64       `json:"rows_per_sec"`
}

// MeasureCommit commits pkg into d and times it (staging is not timed).
func MeasureCommit(ctx context.Context, d destination.Destination, pkg *destination.Package) (Measurement, error) {
	var rows int64
	for _, n := range pkg.Stage.Counts() {
		rows += n
	}
	if err := pkg.Stage.Flush(ctx); err != nil {
		return Measurement{}, err
	}
	start := time.Now()
	if _, err := d.Commit(ctx, pkg); err != nil {
		return Measurement{}, err
	}
	m := Measurement{Destination: d.Kind(), Rows: rows, Duration: time.Since(start)}
	m.RowsPerSec = float64(rows) / m.Duration.Seconds()
	return m, nil
}

// Commit commits the three good fixture loads into d, for tests of what
// reads a loaded dataset.
func Commit(t testing.TB, d destination.Destination, dataset string) {
	t.Helper()
	ctx := context.Background()
	pkgs, err := NewBuilder(dataset, t.TempDir()).Loads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		defer p.Stage.Close()
		if _, err := d.Commit(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}
