package cfsim

import (
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// snake is close enough to dlt's name normalisation for primary-key lookup.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 && unicode.IsLower(rune(s[i-1])) {
			b.WriteByte('_')
		}
		if r == '-' {
			r = '_'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// field finds a normalized column path ("metadata__id") in a record.
func field(rec any, col string) any {
	for _, seg := range strings.Split(col, "__") {
		m, ok := rec.(map[string]any)
		if !ok {
			return nil
		}
		rec = nil
		for k, v := range m {
			if snake(k) == seg {
				rec = v
			}
		}
	}
	return rec
}

// records extracts the records a data selector points at.
func records(t *testing.T, body any, selector string) []any {
	t.Helper()
	switch selector {
	case "":
		if _, ok := body.(map[string]any); !ok {
			t.Fatalf("selector \"\" wants one object, got %T", body)
		}
		return []any{body}
	case "$":
		l, ok := body.([]any)
		if !ok {
			t.Fatalf("selector $ wants a bare array, got %T", body)
		}
		return l
	}
	l, ok := at(body, strings.Split(selector, ".")...).([]any)
	if !ok {
		t.Fatalf("selector %s: no array there in %.200v", selector, body)
	}
	return l
}

// TestCatalogServed: every catalog resource is served by the simulator at
// its path, needs the catalog's scope, has its records where the catalog's
// DataSelector says, carries the primary key, and (for top-level resources)
// a full listing returns Count(name) records.
func TestCatalogServed(t *testing.T) {
	cat := codefresh.Catalog()
	if len(cat) == 0 {
		t.Fatal("empty catalog")
	}
	for _, r := range cat {
		t.Run(r.Name, func(t *testing.T) {
			s := newTestServer(t, Config{Seed: 5, Builds: 120, Images: 30})
			buildID := s.BuildIDs("success")[0]
			path := r.Path
			switch r.ParentField {
			case "progress":
				path = strings.Replace(path, "{id}", str(getJSON(t, s, "/builds/"+buildID), "progress"), 1)
			case codefresh.ActiveAccountID:
				path = strings.Replace(path, "{"+r.ParentParam+"}", s.g.accountID, 1)
			default:
				path = strings.Replace(path, "{id}", buildID, 1)
			}
			if strings.Contains(path, "{") {
				t.Fatalf("unfilled path parameter in %s", path)
			}
			rt, _, found := match(http.MethodGet, path)
			if !found {
				t.Fatalf("simulator has no route for %s", r.Path)
			}
			if rt.scope != r.Scope {
				t.Errorf("scope: catalog %q, simulator %q", r.Scope, rt.scope)
			}
			q := "?"
			for k, v := range r.Params {
				q += k + "=" + v + "&"
			}
			switch r.Paginator {
			case codefresh.PaginatorOffset:
				q += "offset=0&limit=100000"
			case codefresh.PaginatorPageCursor:
				q += "page=1&paginationReset=true&limit=100000"
			case codefresh.PaginatorPage:
				q += "page=1&limit=100000"
			}
			recs := records(t, getJSON(t, s, path+q), r.DataSelector)
			if len(recs) == 0 {
				t.Fatalf("no records at %s", r.DataSelector)
			}
			for _, rec := range recs {
				if r.Name == "build_steps" || r.Name == "build_logs" {
					break // its key is on the rows the pipeline makes (from the last revision, from the log file)
				}
				for _, pk := range r.PrimaryKey {
					if field(rec, pk) == nil {
						t.Fatalf("record without primary key %s: %.300v", pk, rec)
					}
				}
			}
			if r.Parent == "" && len(recs) != s.Count(r.Name) {
				t.Errorf("full listing has %d records, Count(%s) = %d", len(recs), r.Name, s.Count(r.Name))
			}
			if r.Scope != "" {
				s.SetScopes([]string{"some-other:read"})
				if code, _, _ := do(t, s, path+q); code != http.StatusForbidden {
					t.Errorf("without scope %s: status %d, want 403", r.Scope, code)
				}
			}
		})
	}
}
