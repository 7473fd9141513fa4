package codefresh_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
)

// TestPagesOnTapesAsMaps: listed with a tape pool, every listing of the
// catalog gives the pages it gives in maps: the same records (secrets
// dropped), ids and parent values, the same paging; records of resources
// that are reshaped (KeyedObjects, RowsFrom) stay maps.
func TestPagesOnTapesAsMaps(t *testing.T) {
	sim, c := startSim(t, cfsim.Config{Seed: 5, Pipelines: 8, Builds: 230})
	var pool jsonpage.TapePool
	type listing struct {
		res codefresh.Resource
		opt codefresh.PageOptions
	}
	var listings []listing
	for _, res := range codefresh.Catalog() {
		switch res.ParentParam {
		case "":
			listings = append(listings, listing{res, codefresh.PageOptions{PageSize: 40}})
		case "id":
			if res.ParentField != "" { // progress ids, not build ids
				continue
			}
			for _, id := range sim.BuildIDs()[:3] {
				listings = append(listings, listing{res, codefresh.PageOptions{PathParams: map[string]string{"id": id}}})
			}
		}
	}
	onTapes := 0
	for _, l := range listings {
		var maps []*codefresh.Page
		if err := c.Pages(context.Background(), l.res, l.opt, func(pg *codefresh.Page) error {
			maps = append(maps, pg)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", l.res.Name, err)
		}
		n := 0
		opt := l.opt
		opt.Tapes = &pool
		reshaped := len(l.res.KeyedObjects) > 0 || l.res.RowsFrom != ""
		err := c.Pages(context.Background(), l.res, opt, func(pg *codefresh.Page) error {
			defer pool.Put(pg.Tape)
			if n >= len(maps) {
				t.Fatalf("%s: more pages on tapes than in maps", l.res.Name)
			}
			want := maps[n]
			n++
			if pg.Selector != want.Selector || pg.More != want.More || pg.Len() != want.Len() {
				t.Fatalf("%s page %d: selector %q more %v len %d, maps %q %v %d", l.res.Name, n, pg.Selector, pg.More, pg.Len(), want.Selector, want.More, want.Len())
			}
			if reshaped && pg.Tape != nil {
				t.Errorf("%s: reshaped records decoded onto a tape", l.res.Name)
			}
			if pg.Tape != nil {
				onTapes++
				if pg.Records != nil {
					t.Errorf("%s: a tape page has maps too", l.res.Name)
				}
				if pg.Raw != nil { // its records on the tape lack the secrets already
					t.Errorf("%s: a tape page has stripped raw records too", l.res.Name)
				}
			}
			for i := range pg.Len() {
				got, exp := pg.Record(i), want.Record(i)
				if !reflect.DeepEqual(got.Map(), exp.Map()) {
					t.Fatalf("%s page %d record %d:\ntape %v\nmaps %v", l.res.Name, n, i, got.Map(), exp.Map())
				}
				for _, f := range []string{"id", "status", "created", "metadata", "missing"} {
					if !reflect.DeepEqual(got.Field(f), exp.Field(f)) {
						t.Errorf("%s record %d field %s: %v, maps %v", l.res.Name, i, f, got.Field(f), exp.Field(f))
					}
				}
				if got.ID() != exp.ID() {
					t.Errorf("%s record %d: id %q, maps %q", l.res.Name, i, got.ID(), exp.ID())
				}
				for _, d := range codefresh.Catalog() {
					if d.Parent == l.res.Name && !reflect.DeepEqual(d.ParentValuesOf(got), d.ParentValuesOf(exp)) {
						t.Errorf("%s record %d: %s parent values %v, maps %v", l.res.Name, i, d.Name, d.ParentValuesOf(got), d.ParentValuesOf(exp))
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s on tapes: %v", l.res.Name, err)
		}
		if n != len(maps) {
			t.Errorf("%s: %d pages on tapes, %d in maps", l.res.Name, n, len(maps))
		}
	}
	if onTapes < 20 {
		t.Errorf("only %d pages on tapes", onTapes)
	}
}

// TestPageFilter keeps the records a predicate keeps, on a tape and in maps.
func TestPageFilter(t *testing.T) {
	body := []byte(`{"docs":[{"id":"a","n":1},{"id":"b","n":2},7,{"id":"c","n":3}]}`)
	d := jsonpage.New(nil, []string{"docs"})
	tape, err := d.DecodeTape(body)
	if err != nil {
		t.Fatal(err)
	}
	nodes, _ := d.RecordNodes("docs")
	pages := []*codefresh.Page{
		{Tape: tape, Nodes: nodes},
		{Records: []map[string]any{{"id": "a"}, {"id": "b"}, {"value": 7}, {"id": "c"}}},
	}
	for _, pg := range pages {
		kept := pg.Filter(func(r codefresh.Record) bool { return r.ID() != "b" })
		var ids []any
		for i := range kept.Len() {
			r := kept.Record(i)
			ids = append(ids, r.ID()+"|"+r.String("id"))
			if v := r.Field("value"); v != nil {
				ids = append(ids, v)
			}
		}
		if fmt.Sprint(ids) != "[a|a | 7 c|c]" || pg.Len() != 4 {
			t.Errorf("filter (tape %v): %v", pg.Tape != nil, ids)
		}
	}
}
