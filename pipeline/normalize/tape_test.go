package normalize

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// rowLog is a Sink that keeps every row as written, per table.
type rowLog map[string][][]any

func (l rowLog) Write(t *Table, row []any) error {
	l[t.Name] = append(l[t.Name], slices.Clone(row))
	return nil
}

// seeded makes a normalizer whose root ids repeat from one run to another.
func seeded(s *Schema, seed uint64) *Normalizer {
	n := New(s, Options{LoadID: "1749667187.541553"})
	src := rand.NewChaCha8([32]byte{byte(seed)})
	n.ids.fill = func(b []byte) { _, _ = src.Read(b) }
	return n
}

// TestTapeRowsAsMapRows: every record of the simulator's pages, normalized
// from a tape, gives the rows (values, types, ids, child tables) and the
// schema the map path gives. Resources whose records are reshaped before
// they are normalized (KeyedObjects, RowsFrom) take the map path and are
// not compared.
func TestTapeRowsAsMapRows(t *testing.T) {
	sim := cfsim.New(cfsim.Config{Seed: 3, Pipelines: 12, Builds: 600, APIKey: "k"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := codefresh.New(codefresh.Options{BaseURL: srv.URL + "/api", APIKey: "k", RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, res := range codefresh.Catalog() {
		if len(res.KeyedObjects) > 0 || res.RowsFrom != "" {
			continue
		}
		var opts []codefresh.PageOptions
		switch res.ParentParam {
		case "":
			opts = []codefresh.PageOptions{{PageSize: 50}}
		case "id":
			for _, id := range sim.BuildIDs()[:40] {
				opts = append(opts, codefresh.PageOptions{PathParams: map[string]string{"id": id}})
			}
		default:
			continue
		}
		t.Run(res.Name, func(t *testing.T) {
			oldSchema, newSchema := NewSchema("codefresh"), NewSchema("codefresh")
			for _, s := range []*Schema{oldSchema, newSchema} {
				s.EnsureRoot(res.Name, res.Name, "merge", nil)
			}
			oldN, newN := seeded(oldSchema, 7), seeded(newSchema, 7)
			oldRows, newRows := rowLog{}, rowLog{}
			records := 0
			for _, opt := range opts {
				err := c.Pages(context.Background(), res, opt, func(pg *codefresh.Page) error {
					for i, rec := range pg.Records {
						if err := oldN.Normalize(res.Name, rec, oldRows); err != nil {
							return err
						}
						tape, err := jsonpage.New(nil, nil).DecodeTape(pg.Raw[i])
						if err != nil {
							return err
						}
						if err := newN.NormalizeTape(res.Name, tape, 0, newRows); err != nil {
							return err
						}
						records++
					}
					return nil
				})
				if codefresh.IsStatus(err, 404) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if records == 0 {
				t.Skip("the simulator serves no records")
			}
			compared += records
			if got, want := dumpSchema(newSchema), dumpSchema(oldSchema); got != want {
				t.Fatalf("schema from tapes:\n%s\nfrom maps:\n%s", got, want)
			}
			if !reflect.DeepEqual(newRows, oldRows) {
				for table, rows := range oldRows {
					if !reflect.DeepEqual(newRows[table], rows) {
						t.Fatalf("%s: %d rows from tapes, %d from maps; first tape row %v, map row %v",
							table, len(newRows[table]), len(rows), newRows[table][0], rows[0])
					}
				}
				t.Fatalf("tables from tapes %d, from maps %d", len(newRows), len(oldRows))
			}
			t.Logf("%d records, %d tables, %d columns", records, len(oldRows), countColumns(oldSchema))
		})
	}
	if compared < 900 {
		t.Fatalf("compared %d records", compared)
	}
}

func dumpSchema(s *Schema) string {
	out := ""
	for _, tb := range s.Tables {
		out += fmt.Sprintf("%s(parent %q):", tb.Name, tb.Parent)
		for _, c := range tb.Columns {
			out += fmt.Sprintf(" %s %s %v %q;", c.Name, c.DataType, c.Nullable, c.VariantOf)
		}
		out += "\n"
	}
	return out
}

func countColumns(s *Schema) int {
	n := 0
	for _, tb := range s.Tables {
		n += len(tb.Columns)
	}
	return n
}

// tapeCorpus are records the simulator does not send: repeated names, lists
// in lists, json columns, colliding names, a record that is not an object.
var tapeCorpus = []string{
	`{"id":1,"a":{"x":1},"a":{"y":2},"l":[1,2]}`,
	`{"id":2,"l":[[1,2],[3,[4]]],"m":[{"k":[{"z":1}]}]}`,
	`{"id":3,"Name":"x","name":"y","a_b":1,"a":{"b":2}}`,
	`{"id":4,"deep":{"a":{"b":{"c":{"d":1}}}},"n":null,"t":true,"f":1.5}`,
	`{"id":"5","l":[],"o":{},"_dlt_id":"mine","_dlt_load_id":"x"}`,
	`{"id":6,"l":[1,"s",null,{"v":1}],"l2":[{"a":1},{"a":"s"}]}`,
	`[1,2]`, `"scalar"`,
}

// TestTapeCorpusAsMaps: the corpus, record after record into one schema,
// gives the same rows and schema from tapes as from maps.
func TestTapeCorpusAsMaps(t *testing.T) {
	oldSchema, newSchema := NewSchema("t"), NewSchema("t")
	for _, s := range []*Schema{oldSchema, newSchema} {
		s.EnsureRoot("items", "items", "append", nil)
	}
	oldN, newN := seeded(oldSchema, 1), seeded(newSchema, 1)
	oldRows, newRows := rowLog{}, rowLog{}
	for round := 0; round < 2; round++ { // the second round meets a settled schema
		for _, body := range tapeCorpus {
			tape, err := jsonpage.New(nil, nil).DecodeTape([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			v := tape.Value(0)
			rec, ok := v.(map[string]any)
			if !ok {
				rec = map[string]any{ColValue: v}
			}
			if err := oldN.Normalize("items", rec, oldRows); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if err := newN.NormalizeTape("items", tape, 0, newRows); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
	}
	if got, want := dumpSchema(newSchema), dumpSchema(oldSchema); got != want {
		t.Fatalf("schema from tapes:\n%s\nfrom maps:\n%s", got, want)
	}
	if !reflect.DeepEqual(newRows, oldRows) {
		t.Fatalf("rows from tapes:\n%v\nfrom maps:\n%v", newRows, oldRows)
	}
	if len(oldRows["items"]) != 2*len(tapeCorpus) {
		t.Fatalf("%d root rows", len(oldRows["items"]))
	}
}

// simBuildsBody is one page of 100 builds as the simulator sends it.
func simBuildsBody(b *testing.B) []byte {
	sim := cfsim.New(cfsim.Config{Seed: 1, Pipelines: 20, Builds: 500, APIKey: "k"})
	r := httptest.NewRequest("GET", "/api/workflow?limit=100&page=1", nil)
	r.Header.Set("Authorization", "k")
	w := httptest.NewRecorder()
	sim.Handler().ServeHTTP(w, r)
	return w.Body.Bytes()
}

var (
	benchSecrets   = []string{"exposedVariables.*.value"}
	benchSelectors = []string{"workflows.docs"}
)

// benchPage decodes and normalizes one page of builds per iteration, against
// a settled schema, with the decoder's maps or its tape.
func benchPage(b *testing.B, tape, reuse bool) {
	body := simBuildsBody(b)
	s := NewSchema("codefresh")
	s.EnsureRoot("builds", "builds", "merge", []string{"id"})
	n := New(s, Options{LoadID: "1749667187.541553"})
	d := jsonpage.New(benchSecrets, benchSelectors)
	var reused jsonpage.Tape
	page := func() {
		if tape {
			decode := d.DecodeTape
			if reuse {
				decode = func(body []byte) (*jsonpage.Tape, error) { return d.DecodeTapeInto(&reused, body) }
			}
			tp, err := decode(body)
			if err != nil {
				b.Fatal(err)
			}
			nodes, _ := d.RecordNodes("workflows.docs")
			for _, at := range nodes {
				if err := n.NormalizeTape("builds", tp, at, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			return
		}
		root, err := d.Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		docs := root.(map[string]any)["workflows"].(map[string]any)["docs"].([]any)
		for _, rec := range docs {
			if err := n.Normalize("builds", rec.(map[string]any), discard{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	page()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		page()
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkPageNormalizeMaps(b *testing.B)       { benchPage(b, false, false) }
func BenchmarkPageNormalizeTape(b *testing.B)       { benchPage(b, true, false) }
func BenchmarkPageNormalizeTapeReused(b *testing.B) { benchPage(b, true, true) }
