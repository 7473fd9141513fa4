package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/dataset"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/destinationtest"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
)

// Factory makes empty destinations of one kind for the suite, and says
// what the suite may expect of that kind's dialect.
type Factory struct {
	Name string // what Kind and Info.Destination say: "duckdb"
	// New returns an empty destination of dataset and a reader of it.
	New func(t *testing.T, dataset string) Instance
	// Dataset is the dataset a test uses; nil = destination.DefaultDataset.
	Dataset func(t *testing.T) string
	// Types are the column types Describe reports for each data type.
	Types map[normalize.DataType]string
	// NotNull: Describe reports the NOT NULL the schema asks for (Parquet
	// files keep no such constraint).
	NotNull bool
	// CastError is what a commit's error names when a staged value does
	// not fit its column.
	CastError string
}

// Instance is one empty destination under test.
type Instance struct {
	Dest   destination.Destination
	Reader dataset.Reader
	// Path is a local destination's file or folder ("" for a server):
	// reading an empty destination, or refusing a package, creates nothing.
	Path string
	// Other, when set, opens the same place for another dataset.
	Other func(dataset string) destination.Destination
	// AfterStep, when set, makes Dest call fn after each commit step.
	AfterStep func(fn func(step string))
	// Stored, when set, is everything the destination stores, read past
	// the reader (files byte for byte, every schema of a database): a
	// failed commit must leave it as it was too.
	Stored func(t *testing.T) string
}

// Run runs the suite against the destinations f makes: what every
// destination does alike, read back through its own reader.
func Run(t *testing.T, f Factory) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, *run)
	}{
		{"Replace", testReplace},
		{"ReplaceWithNoStagedRowsEmptiesTables", testReplaceWithNoStagedRows},
		{"Append", testAppend},
		{"MergeTwiceReplacesRootsAndChildren", testMergeTwice},
		{"MergeDuplicateKeysLastWins", testMergeDuplicateKeys},
		{"MergeWithoutKeyAppends", testMergeWithoutKey},
		{"IncompleteResourceNotLoaded", testIncompleteResource},
		{"SchemaEvolutionAndTypes", testSchemaEvolution},
		{"SystemTablesAsDlt", testSystemTables},
		{"LastStateAndStoredSchema", testLastStateAndStoredSchema},
		{"FailedCommitChangesNothing", testFailedCommit},
		{"CancelledCommitChangesNothing", testCancelledCommit},
		{"CommitRejectsIncompletePackage", testRejectsIncompletePackage},
		{"FixtureLoadsAnswerAsGolden", testGolden},
		{"FailedFixtureLoadLeavesAsBefore", testFailedFixtureLoad},
		{"CIViewsFollowTheTables", testCIViews},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := destination.DefaultDataset
			if f.Dataset != nil {
				ds = f.Dataset(t)
			}
			tc.test(t, &run{Instance: f.New(t, ds), f: f, dataset: ds})
		})
	}
}

// run is one test's destination.
type run struct {
	Instance
	f       Factory
	dataset string
}

func (r *run) stage(t *testing.T, s *normalize.Schema, loadID string, orders ...Order) *stage.Stage {
	t.Helper()
	return StageOrders(t, "", s, loadID, orders...)
}

func (r *run) pkg(s *normalize.Schema, st *stage.Stage, loadID, state string) *destination.Package {
	return OrderPackage(r.dataset, s, st, loadID, state)
}

func (r *run) commit(t *testing.T, p *destination.Package) *destination.CommitStats {
	t.Helper()
	return MustCommit(t, r.Dest, p)
}

// query returns q's rows as "a,b;c,d" (NULL as <nil>), read by the reader.
func (r *run) query(t *testing.T, q string) string {
	t.Helper()
	return destinationtest.Text(r.result(t, q).Rows, destinationtest.Sprint)
}

func (r *run) result(t *testing.T, q string) *dataset.Result {
	t.Helper()
	res, err := r.Reader.Query(context.Background(), q, dataset.QueryOptions{MaxRows: 10000, MaxBytes: 1 << 20, MaxStringLen: 1 << 20})
	if err != nil {
		t.Fatalf("%s: %s: %v", r.f.Name, q, err)
	}
	if res.Truncated {
		t.Fatalf("%s: %s: truncated", r.f.Name, q)
	}
	return res
}

// columns are a table's columns as "name TYPE[ NOT NULL];...", by Describe.
func (r *run) columns(t *testing.T, table string) string {
	t.Helper()
	d, err := r.Reader.Describe(context.Background(), table)
	if err != nil {
		t.Fatalf("%s: describe %s: %v", r.f.Name, table, err)
	}
	var out []string
	for _, c := range d.Columns {
		s := c.Name + " " + c.Type
		if !c.Nullable {
			s += " NOT NULL"
		}
		out = append(out, s)
	}
	return strings.Join(out, ";")
}

// want writes columns as columns says them in this dialect: each "name
// type" or "name type!" (NOT NULL) with a normalize data type.
func (r *run) want(cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		sp := strings.LastIndex(c, " ")
		name, typ := c[:sp], c[sp+1:]
		notNull := strings.HasSuffix(typ, "!")
		s := name + " " + r.f.Types[normalize.DataType(strings.TrimSuffix(typ, "!"))]
		if notNull && r.f.NotNull {
			s += " NOT NULL"
		}
		out[i] = s
	}
	return strings.Join(out, ";")
}

// dataTables are the tables Info lists that are not system tables.
func (r *run) dataTables(t *testing.T) string {
	t.Helper()
	info, err := r.Reader.Info(context.Background())
	if err != nil {
		t.Fatalf("%s: info: %v", r.f.Name, err)
	}
	var names []string
	for _, tb := range info.Tables {
		if !tb.System {
			names = append(names, tb.Name)
		}
	}
	return strings.Join(names, ",")
}

// document is a JSON value as one canonical text, whether the reader gives
// it as text or decoded.
func document(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		var doc any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatalf("not a JSON document: %q", s)
		}
		v = doc
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// notCreated fails when reading or refusing created a local destination.
func (r *run) notCreated(t *testing.T, what string) {
	t.Helper()
	if r.Path == "" {
		return
	}
	if _, err := os.Stat(r.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s created %s: %v", what, r.Path, err)
	}
}

func sameStats(t *testing.T, got *destination.CommitStats, want map[string]destination.TableStats) {
	t.Helper()
	if !reflect.DeepEqual(got.Tables, want) {
		t.Fatalf("stats = %+v, want %+v", got.Tables, want)
	}
}
