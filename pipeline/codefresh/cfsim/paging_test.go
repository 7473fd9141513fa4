package cfsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// listAll pages /workflow to the end in one session.
func listAll(t *testing.T, s *Server, query, session string) []any {
	t.Helper()
	var all []any
	for page := 1; ; page++ {
		q := fmt.Sprintf("%s&limit=37&page=%d", query, page)
		if page == 1 {
			q += "&paginationReset=true"
		}
		p := workflowPage(t, s, q, "X-Pagination-Session-Id", session)
		if p.page != page {
			t.Fatalf("pagination.page = %d, want %d", p.page, page)
		}
		all = append(all, p.docs...)
		if !p.nextPage {
			return all
		}
		if len(p.docs) != 37 {
			t.Fatalf("page %d has %d docs but nextPage is true", page, len(p.docs))
		}
		if page > 1000 {
			t.Fatal("listing does not end")
		}
	}
}

func TestWorkflowFullListingNewestFirst(t *testing.T) {
	s := newTestServer(t, Config{Seed: 11, Builds: 500})
	all := listAll(t, s, "", "full")
	if len(all) != s.Count("builds") || len(all) != 500 {
		t.Fatalf("listed %d builds, Count = %d", len(all), s.Count("builds"))
	}
	seen := map[string]bool{}
	prev := "9999"
	for _, d := range all {
		id := str(d, "id")
		if seen[id] {
			t.Fatalf("duplicate build %s", id)
		}
		seen[id] = true
		if c := str(d, "created"); c > prev {
			t.Fatalf("not newest first: %s after %s", c, prev)
		} else {
			prev = c
		}
	}
	if got := s.BuildIDs(); !slices.Equal(got, ids(all, "id")) {
		t.Error("BuildIDs differs from the listing order")
	}
}

func TestWorkflowCursorRules(t *testing.T) {
	s := newTestServer(t, Config{Seed: 12, Builds: 300})
	sess := func(id string) []string { return []string{"X-Pagination-Session-Id", id} }

	p1 := workflowPage(t, s, "limit=20&page=1&paginationReset=true", sess("a")...)
	p2 := workflowPage(t, s, "limit=20&page=2", sess("a")...)
	p3 := workflowPage(t, s, "limit=20&page=3", sess("a")...)
	if overlap(p1.docs, p2.docs) || overlap(p2.docs, p3.docs) {
		t.Fatal("consecutive pages overlap")
	}
	// Back one page: the same page 2.
	back := workflowPage(t, s, "limit=20&page=2", sess("a")...)
	if !slices.Equal(ids(back.docs, "id"), ids(p2.docs, "id")) {
		t.Error("page 3 -> 2 did not return page 2 again")
	}
	// The current page again (a retry) serves the same page.
	again := workflowPage(t, s, "limit=20&page=2", sess("a")...)
	if !slices.Equal(ids(again.docs, "id"), ids(p2.docs, "id")) {
		t.Error("repeating the current page changed it")
	}

	// A jump is an invalid operation: 400, Codefresh-style body.
	code, body, _ := do(t, s, "/workflow?limit=20&page=5", sess("a")...)
	if code != http.StatusBadRequest {
		t.Fatalf("jump 2 -> 5: status %d", code)
	}
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil || e["name"] != "BAD_REQUEST_ERROR" || e["status"] != float64(400) {
		t.Fatalf("jump body: %s", body)
	}
	// A fresh session cannot start at page 2.
	if code, _, _ := do(t, s, "/workflow?limit=20&page=2", sess("fresh")...); code != http.StatusBadRequest {
		t.Fatalf("page 2 without page 1: status %d", code)
	}
	// Page 1 resets from anywhere.
	r := workflowPage(t, s, "limit=20&page=1", sess("a")...)
	if !slices.Equal(ids(r.docs, "id"), ids(p1.docs, "id")) {
		t.Error("page 1 did not reset to the first page")
	}
}

func overlap(a, b []any) bool {
	in := map[string]bool{}
	for _, id := range ids(a, "id") {
		in[id] = true
	}
	for _, id := range ids(b, "id") {
		if in[id] {
			return true
		}
	}
	return false
}

func TestWorkflowSessionsIndependentAndSharedWithoutHeader(t *testing.T) {
	s := newTestServer(t, Config{Seed: 13, Builds: 200})
	// Two sessions interleaved both list everything correctly.
	a1 := workflowPage(t, s, "limit=50&page=1", "X-Pagination-Session-Id", "A")
	b1 := workflowPage(t, s, "limit=50&page=1", "X-Pagination-Session-Id", "B")
	a2 := workflowPage(t, s, "limit=50&page=2", "X-Pagination-Session-Id", "A")
	b2 := workflowPage(t, s, "limit=50&page=2", "X-Pagination-Session-Id", "B")
	a3 := workflowPage(t, s, "limit=50&page=3", "X-Pagination-Session-Id", "A")
	if !slices.Equal(ids(a1.docs, "id"), ids(b1.docs, "id")) || !slices.Equal(ids(a2.docs, "id"), ids(b2.docs, "id")) {
		t.Fatal("two sessions saw different pages")
	}
	if overlap(a2.docs, a3.docs) || len(a3.docs) != 50 {
		t.Fatal("session A was disturbed by session B")
	}

	// Without the header every listing shares one cursor: listing B's reset
	// moves listing A's cursor back to page 1, so A's page 3 is a jump.
	workflowPage(t, s, "limit=50&page=1")
	workflowPage(t, s, "limit=50&page=2")
	workflowPage(t, s, "limit=50&page=1") // another listing starts
	if code, _, _ := do(t, s, "/workflow?limit=50&page=3"); code != http.StatusBadRequest {
		t.Fatalf("shared cursor: page 3 after another listing's reset: status %d, want 400", code)
	}
	// The same key with a session id is unaffected by the shared cursor.
	if code, _, _ := do(t, s, "/workflow?limit=50&page=4", "X-Pagination-Session-Id", "A"); code != http.StatusOK {
		t.Fatalf("session A page 4: %d", code)
	}
	// Images and builds without a header share it too.
	workflowPage(t, s, "limit=10&page=1")
	if code, _, _ := do(t, s, "/images?limit=10&page=2"); code != http.StatusBadRequest {
		t.Fatalf("images page 2 on a builds cursor: status %d, want 400", code)
	}
}

func TestWorkflowPageZeroShowsNewBuilds(t *testing.T) {
	s := newTestServer(t, Config{Seed: 14, Builds: 100, BuildsPerHour: 30})
	h := []string{"X-Pagination-Session-Id", "z"}
	p1 := workflowPage(t, s, "limit=10&page=1", h...)
	before := s.Count("builds")
	s.Advance(2 * time.Hour)
	added := s.Count("builds") - before
	if added < 20 || added > 120 {
		t.Fatalf("Advance(2h) at 30/h added %d builds", added)
	}
	// Page 1 did not move: the listing is anchored where it began.
	p0 := workflowPage(t, s, "limit=10&page=0", h...)
	if overlap(p0.docs, p1.docs) || len(p0.docs) != min(10, added) {
		t.Fatalf("page 0: %d docs, overlap %v", len(p0.docs), overlap(p0.docs, p1.docs))
	}
	newest := s.BuildIDs()[added-len(p0.docs) : added]
	if !slices.Equal(ids(p0.docs, "id"), newest) {
		t.Errorf("page 0 should hold the builds just above page 1")
	}
}

func TestWorkflowFilters(t *testing.T) {
	s := newTestServer(t, Config{Seed: 15, Builds: 600})
	all := listAll(t, s, "", "all")

	t.Run("status repeatable", func(t *testing.T) {
		got := listAll(t, s, "status=error&status=terminated", "st")
		want := s.BuildIDs("error", "terminated")
		if len(want) == 0 || !slices.Equal(ids(got, "id"), want) {
			t.Fatalf("status filter: %d builds, want %d", len(got), len(want))
		}
		for _, d := range got {
			if st := str(d, "status"); st != "error" && st != "terminated" {
				t.Fatalf("status %s", st)
			}
		}
	})
	t.Run("pipeline repeatable", func(t *testing.T) {
		p0, p1 := str(all[0], "serviceId"), str(all[1], "serviceId")
		got := listAll(t, s, "pipeline="+p0+"&pipeline="+p1, "pl")
		n := 0
		for _, d := range all {
			if id := str(d, "serviceId"); id == p0 || id == p1 {
				n++
			}
		}
		if len(got) != n || n == 0 {
			t.Fatalf("pipeline filter: %d, want %d", len(got), n)
		}
		for _, d := range got {
			if id := str(d, "serviceId"); id != p0 && id != p1 {
				t.Fatalf("pipeline %s", id)
			}
		}
	})
	t.Run("branchName", func(t *testing.T) {
		got := listAll(t, s, "branchName=develop", "br")
		n := 0
		for _, d := range all {
			if str(d, "branchName") == "develop" {
				n++
			}
		}
		if len(got) != n || n == 0 {
			t.Fatalf("branch filter: %d, want %d", len(got), n)
		}
	})
	t.Run("dates inclusive by UTC day", func(t *testing.T) {
		// Pick days from the data itself.
		start := str(all[len(all)/2], "created")[:10]
		end := str(all[len(all)/4], "created")[:10]
		got := listAll(t, s, "startDate="+start+"&endDate="+end, "dt")
		n := 0
		for _, d := range all {
			day := str(d, "created")[:10]
			if day >= start && day <= end {
				n++
			}
		}
		if len(got) != n || n == 0 {
			t.Fatalf("date filter %s..%s: %d, want %d", start, end, len(got), n)
		}
		if first, last := str(got[0], "created")[:10], str(got[len(got)-1], "created")[:10]; first != end || last != start {
			t.Errorf("window %s..%s, want %s..%s (both ends inclusive)", last, first, start, end)
		}
		if code, _, _ := do(t, s, "/workflow?startDate=05/01/2024"); code != http.StatusBadRequest {
			t.Errorf("bad date: status %d", code)
		}
	})
}

func TestOffsetPaging(t *testing.T) {
	s := newTestServer(t, Config{Seed: 16, Pipelines: 23, Projects: 4, StepTypes: 33})
	for _, c := range []struct {
		path, records, count string
		total                int
	}{
		{"/pipelines", "docs", "count", 23},
		{"/pipelines/names", "docs", "count", 23},
		{"/projects", "projects", "", 4},
		{"/step-types", "docs", "", 33},
	} {
		var got []string
		for off := 0; ; off += 5 {
			v := getJSON(t, s, fmt.Sprintf("%s?limit=5&offset=%d", c.path, off))
			docs := list(v, c.records)
			if c.count != "" && int(at(v, c.count).(float64)) != c.total {
				t.Errorf("%s: count %v, want %d", c.path, at(v, c.count), c.total)
			}
			for _, d := range docs {
				b, _ := json.Marshal(d)
				got = append(got, string(b))
			}
			if len(docs) < 5 {
				if want := c.total % 5; len(docs) != want {
					t.Errorf("%s: last page %d, want short page of %d", c.path, len(docs), want)
				}
				break
			}
		}
		if len(got) != c.total {
			t.Errorf("%s: paged %d records, want %d", c.path, len(got), c.total)
		}
		if n := len(slices.Compact(slices.Sorted(slices.Values(got)))); n != c.total {
			t.Errorf("%s: %d distinct records", c.path, n)
		}
	}
	// Filters.
	v := getJSON(t, s, "/pipelines?projectId="+s.g.projects[1].id)
	for _, d := range list(v, "docs") {
		if str(d, "metadata", "project") != s.g.projects[1].name {
			t.Fatalf("projectId filter let through %s", str(d, "metadata", "name"))
		}
	}
	if n := int(at(v, "count").(float64)); n != 6 {
		t.Errorf("project 1 has %d pipelines, want 6 (23 over 4 projects)", n)
	}
}

func TestImagesCursorPaging(t *testing.T) {
	s := newTestServer(t, Config{Seed: 17, Builds: 200, Images: 55})
	h := []string{"X-Pagination-Session-Id", "img"}
	var all []string
	for page := 1; ; page++ {
		v := getJSON(t, s, fmt.Sprintf("/images?limit=20&page=%d", page), h...)
		docs := list(v, "docs")
		if int(at(v, "total").(float64)) != 55 || int(at(v, "offset").(float64)) != (page-1)*20 {
			t.Fatalf("page %d: total %v offset %v", page, at(v, "total"), at(v, "offset"))
		}
		all = append(all, ids(docs, "_id")...)
		if len(docs) < 20 {
			break
		}
	}
	if len(all) != 55 || s.Count("images") != 55 {
		t.Fatalf("images listed %d", len(all))
	}
	if code, _, _ := do(t, s, "/images?limit=20&page=7", h...); code != http.StatusBadRequest {
		t.Fatalf("images jump: %d", code)
	}
	one := getJSON(t, s, "/images/"+all[3])
	if str(one, "_id") != all[3] {
		t.Fatal("image by id")
	}
}

func TestPipelineByNameAndID(t *testing.T) {
	s := newTestServer(t, Config{Seed: 18})
	byName := getJSON(t, s, "/pipelines/backend%2Fbuild")
	id := str(byName, "metadata", "id")
	byID := getJSON(t, s, "/pipelines/"+id)
	if str(byID, "metadata", "name") != "backend/build" {
		t.Fatalf("by id: %v", at(byID, "metadata", "name"))
	}
	// An unescaped slash is another route: not found.
	if code, _, _ := do(t, s, "/pipelines/backend/build"); code != http.StatusNotFound {
		t.Fatalf("unescaped slash: %d", code)
	}
	code, body, _ := do(t, s, "/pipelines/nope%2Fnone")
	if code != http.StatusNotFound || !strings.Contains(string(body), "not find") {
		t.Fatalf("missing pipeline: %d %s", code, body)
	}
	// Encrypted variables stay masked unless decryptVariables=true.
	vars := list(byName, "spec", "variables")
	if str(vars[1], "value") != "*****" {
		t.Fatalf("encrypted variable value %q", str(vars[1], "value"))
	}
	dec := getJSON(t, s, "/pipelines/backend%2Fbuild?decryptVariables=true")
	if !strings.HasPrefix(str(list(dec, "spec", "variables")[1], "value"), SecretMarker) {
		t.Fatal("decryptVariables=true should reveal the value")
	}
	// spec.steps is an object keyed by step name, in stage order.
	steps, ok := at(byName, "spec", "steps").(map[string]any)
	if !ok || steps["clone"] == nil || steps["build"] == nil {
		t.Fatalf("spec.steps: %v", at(byName, "spec", "steps"))
	}
}
