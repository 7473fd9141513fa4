package extract_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// canary is the key the tests configure; no row may hold it.
const canary = "cfk-CANARY-4e81c07d2a"

// echoKey answers as h does with the key echoed in records: in a value, in
// a value spelled with a JSON escape, and in a member name.
func echoKey(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body = bytes.ReplaceAll(body, []byte(`"branchName":"`), []byte(`"branchName":"`+canary+`/`))
		body = bytes.ReplaceAll(body, []byte(`"commitMessage":"`), []byte(`"commitMessage":"\u0063`+canary[1:]+` `))
		body = bytes.ReplaceAll(body, []byte(`"repoOwner":`), []byte(`"repoOwner`+canary+`":`))
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// rowLog keeps every row the normalizer writes, in order, by column name.
type rowLog struct {
	mu   sync.Mutex
	rows []loggedRow
}

type loggedRow struct {
	table string
	cols  map[string]any
}

func (l *rowLog) Write(t *normalize.Table, row []any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cols := map[string]any{}
	for i, v := range row {
		if v != nil {
			cols[t.Columns[i].Name] = v
		}
	}
	l.rows = append(l.rows, loggedRow{table: t.Name, cols: cols})
	return nil
}

func (l *rowLog) Wait(context.Context) error { return nil }
func (l *rowLog) Close() error               { return nil }

type memCursors map[string]extract.Cursor

func (m memCursors) Cursor(res, field string) extract.Cursor { return m[res+"."+field] }
func (m memCursors) SetCursor(res, field string, c extract.Cursor) {
	m[res+"."+field] = c
}

// canonical gives each logged row as text without its random ids: a root
// row's id becomes its content, a child row's the path from its root (its
// parent's, its table, its list index), so two loads of the same data give
// the same multiset of rows whatever their random ids.
func canonical(rows []loggedRow) map[string][]string {
	ids := map[string]string{}
	text := func(r loggedRow) string {
		var parts []string
		for k, v := range r.cols {
			switch k {
			case normalize.ColID, normalize.ColParentID, normalize.ColRootID:
				v = ids[fmt.Sprint(v)]
			}
			parts = append(parts, fmt.Sprintf("%s=%T:%v", k, v, v))
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	out := map[string][]string{}
	for _, r := range rows {
		id := fmt.Sprint(r.cols[normalize.ColID])
		if parent, ok := r.cols[normalize.ColParentID]; ok {
			ids[id] = fmt.Sprintf("%s/%s/%v", ids[fmt.Sprint(parent)], r.table, r.cols[normalize.ColListIdx])
		} else {
			ids[id] = "" // blank while the row's own text is made
			ids[id] = r.table + "{" + text(r) + "}"
		}
		out[r.table] = append(out[r.table], text(r))
	}
	for _, rs := range out {
		slices.Sort(rs)
	}
	return out
}

// loadAll extracts every resource of the catalog (but build_logs, whose
// pages are made by the loader) from url, pages decoded into maps or onto
// tapes, and returns the rows, the schema's columns and each resource's error.
func loadAll(t *testing.T, url string, mapPages bool) (rows map[string][]string, columns map[string]string, errs map[string]string) {
	t.Helper()
	ctx := context.Background()
	c, err := codefresh.New(codefresh.Options{BaseURL: url + "/api", APIKey: canary, RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	schema := normalize.NewSchema("codefresh")
	log := &rowLog{}
	x := extract.Start(ctx, extract.Config{
		Client: c, Normalizer: normalize.New(schema, normalize.Options{LoadID: "1749667187.541553"}), Sink: log,
		Redactor: secrets.NewRedactor(canary), Cursors: memCursors{}, Resources: codefresh.Catalog(),
		Concurrency: 3, MapPages: mapPages,
	})
	errs = map[string]string{}
	for _, res := range codefresh.Catalog() {
		if res.Strategy == codefresh.StrategyBuildLogs {
			continue
		}
		schema.EnsureRoot(res.Name, res.Name, "merge", res.PrimaryKey)
		if _, _, err := x.Resource(ctx, res); err != nil {
			errs[res.Name] = err.Error()
		}
	}
	if err := x.Stop(); err != nil {
		t.Fatal(err)
	}
	columns = map[string]string{}
	var tables []*normalize.Table
	for _, root := range schema.RootTables() {
		tables = append(append(tables, root), schema.Descendants(root.Name)...)
	}
	for _, tb := range tables {
		var cols []string
		for _, col := range tb.Columns {
			cols = append(cols, col.Name+" "+string(col.DataType))
		}
		slices.Sort(cols)
		columns[tb.Name] = strings.Join(cols, ", ")
	}
	return canonical(log.rows), columns, errs
}

// TestTapeLoadAsMapLoad: a load whose pages are decoded onto tapes writes
// the rows (values, types, child tables, id structure) and columns the
// map path writes, for every resource of the catalog, with the key echoed
// in values, escaped values and member names redacted the same way, and
// neither the key nor the simulator's secrets in any row.
func TestTapeLoadAsMapLoad(t *testing.T) {
	sim := cfsim.New(cfsim.Config{Seed: 3, Pipelines: 12, Builds: 600, APIKey: canary})
	srv := httptest.NewServer(echoKey(sim.Handler()))
	defer srv.Close()
	mapRows, mapCols, mapErrs := loadAll(t, srv.URL, true)
	tapeRows, tapeCols, tapeErrs := loadAll(t, srv.URL, false)
	if !equalMaps(mapErrs, tapeErrs) {
		t.Errorf("errors differ:\nmaps %v\ntapes %v", mapErrs, tapeErrs)
	}
	if !equalMaps(mapCols, tapeCols) {
		for tb := range mapCols {
			if mapCols[tb] != tapeCols[tb] {
				t.Errorf("%s columns differ:\nmaps  %s\ntapes %s", tb, mapCols[tb], tapeCols[tb])
			}
		}
		t.Errorf("tables: maps %d, tapes %d", len(mapCols), len(tapeCols))
	}
	total, redacted := 0, 0
	for tb, want := range mapRows {
		got := tapeRows[tb]
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows from tapes, %d from maps; first difference:\n%s", tb, len(got), len(want), firstDiff(got, want))
		}
		total += len(want)
		for _, r := range got {
			if strings.Contains(r, canary) || strings.Contains(r, canary[1:]) || strings.Contains(r, cfsim.SecretMarker) {
				t.Fatalf("%s: a secret in row %s", tb, r)
			}
			redacted += strings.Count(r, secrets.Redacted)
		}
	}
	if len(tapeRows) != len(mapRows) {
		t.Errorf("tables with rows: tapes %d, maps %d", len(tapeRows), len(mapRows))
	}
	if !strings.Contains(tapeCols["builds"], "redacted") {
		t.Errorf("builds has no column named after the redacted member: %s", tapeCols["builds"])
	}
	// builds, builds_by_id: branchName and commitMessage of each record.
	if total < 1000 || redacted < 2*600 {
		t.Errorf("%d rows, %d redacted values: the load did not read what the test echoes the key into", total, redacted)
	}
	t.Logf("%d tables, %d rows, %d redacted values; resources failing both ways: %v", len(mapRows), total, redacted, mapErrs)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return "tapes " + g + "\nmaps  " + w
		}
	}
	return ""
}
