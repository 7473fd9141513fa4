package cfsim

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// apiBuild is what these tests read of a listed build.
type apiBuild struct {
	id, pipeline, branch, revision, status, trigType string
	commitMsg, commitURL, committer                  string
	created, finished                                string
}

func readBuild(d any) apiBuild {
	fin, _ := at(d, "finished").(string)
	return apiBuild{id: str(d, "id"), pipeline: str(d, "serviceId"), branch: str(d, "branchName"),
		revision: str(d, "revision"), status: str(d, "status"), trigType: str(d, "triggerType"),
		commitMsg: str(d, "commitMessage"), commitURL: str(d, "commitURL"), committer: str(d, "committer"),
		created: str(d, "created"), finished: fin}
}

// oldestFirst lists every build through /workflow, oldest first.
func oldestFirst(t *testing.T, s *Server) []apiBuild {
	t.Helper()
	docs := listAll(t, s, "", "history")
	out := make([]apiBuild, len(docs))
	for i, d := range docs {
		out[len(docs)-1-i] = readBuild(d)
	}
	return out
}

// history is what a history offers to questions about flakiness and
// recovery, computed from the API's answers alone.
type history struct {
	reruns    []rerun // manual builds of a revision built before on the same lane
	flaky     int     // (pipeline, revision) that failed and later passed
	streaks   int     // 2+ failing revisions in a row on a lane, then a pass on a new one
	maxStreak int     // the most failing revisions in one such streak
}

type rerun struct{ orig, again apiBuild }

func analyze(builds []apiBuild) history {
	var h history
	type lane struct{ pipeline, branch string }
	first := map[[2]string]apiBuild{} // (pipeline, revision) -> first build
	failed := map[[2]string]bool{}
	flaky := map[[2]string]bool{}
	run := map[lane][]string{} // failing revisions since the lane's last pass
	for _, b := range builds {
		key := [2]string{b.pipeline, b.revision}
		if o, seen := first[key]; seen && b.trigType == "manual" && o.branch == b.branch {
			h.reruns = append(h.reruns, rerun{o, b})
		} else if !seen {
			first[key] = b
		}
		switch b.status {
		case "error":
			failed[key] = true
			l := lane{b.pipeline, b.branch}
			if !slices.Contains(run[l], b.revision) {
				run[l] = append(run[l], b.revision)
			}
		case "success":
			if failed[key] {
				flaky[key] = true
			}
			l := lane{b.pipeline, b.branch}
			if r := run[l]; len(r) >= 2 && !slices.Contains(r, b.revision) {
				h.streaks++
				h.maxStreak = max(h.maxStreak, len(r))
			}
			if !slices.Contains(run[l], b.revision) {
				delete(run, l) // a new revision passed: the lane recovered
			}
		}
	}
	h.flaky = len(flaky)
	return h
}

// TestHistoryHasFlakyRerunsAndStreaks: some failures are rerun on the same
// revision and pass, others persist over several commits until a fix.
func TestHistoryHasFlakyRerunsAndStreaks(t *testing.T) {
	s := newTestServer(t, Config{Seed: 1})
	builds := oldestFirst(t, s)
	h := analyze(builds)
	passed := 0
	for _, r := range h.reruns {
		o, a := r.orig, r.again
		if a.commitMsg != o.commitMsg || a.commitURL != o.commitURL || a.committer != o.committer {
			t.Errorf("rerun %s of %s shows another commit: %+v vs %+v", a.id, o.id, a, o)
		}
		if o.finished == "" || a.created <= o.finished {
			t.Errorf("rerun %s created %s, before %s finished (%q)", a.id, a.created, o.id, o.finished)
		}
		if o.status == "error" && a.status == "success" {
			passed++
		}
	}
	t.Logf("%d builds: %d reruns (%d failed then passed), %d flaky revisions, %d failure streaks (longest %d revisions)",
		len(builds), len(h.reruns), passed, h.flaky, h.streaks, h.maxStreak)
	if passed == 0 || h.flaky == 0 {
		t.Fatalf("no failure rerun on the same revision passed: %d reruns, %d flaky", len(h.reruns), h.flaky)
	}
	if h.streaks == 0 || h.maxStreak < 2 {
		t.Fatalf("no failure persisted over several revisions until a fix: %d streaks", h.streaks)
	}
	if len(h.reruns) == passed {
		t.Fatal("every rerun passed: a real failure is never retried in vain")
	}

	// The same build by id, its revision filter and its step data agree
	// with the listing.
	r := h.reruns[0]
	for _, rr := range h.reruns {
		if rr.again.status == "success" && rr.orig.status == "error" {
			r = rr
			break
		}
	}
	if got := readBuild(getJSON(t, s, "/builds/"+r.again.id)); got != r.again {
		t.Fatalf("GET /builds/%s = %+v, listed %+v", r.again.id, got, r.again)
	}
	var want []string
	for i := len(builds) - 1; i >= 0; i-- {
		if builds[i].revision == r.orig.revision {
			want = append(want, builds[i].id)
		}
	}
	if got := ids(listAll(t, s, "revision="+r.orig.revision, "rev"), "id"); !slices.Equal(got, want) || len(got) < 2 {
		t.Fatalf("revision filter: %v, want %v", got, want)
	}
	revs := getJSON(t, s, "/workflow/"+r.again.id+"/context-revision").([]any)
	if res := str(revs[len(revs)-1], "context", "workflowMetadata", "result"); res != "success" {
		t.Fatalf("rerun's context-revision result %q", res)
	}
}

// TestRebuildKeepsRevision: GET /builds/rebuild/{id} starts a manual build
// of the same pipeline, branch and revision.
func TestRebuildKeepsRevision(t *testing.T) {
	s := newTestServer(t, Config{Seed: 3, Builds: 200})
	failed := s.BuildIDs("error")[5]
	v := getJSON(t, s, "/builds/rebuild/"+failed)
	id, _ := v.(string)
	o, a := readBuild(getJSON(t, s, "/builds/"+failed)), readBuild(getJSON(t, s, "/builds/"+id))
	if a.id == o.id || a.pipeline != o.pipeline || a.branch != o.branch || a.revision != o.revision ||
		a.commitMsg != o.commitMsg || a.committer != o.committer || a.trigType != "manual" || a.status != "pending" {
		t.Fatalf("rebuild of %+v gave %+v", o, a)
	}
}

// TestAdvanceGoesOnLinkingBuilds: builds that arrive while the clock moves
// include reruns and streaks too.
func TestAdvanceGoesOnLinkingBuilds(t *testing.T) {
	s := newTestServer(t, Config{Seed: 5, Builds: 100, Pipelines: 4, BuildsPerHour: 20})
	start := s.Now().Format("2006-01-02T15:04:05.000Z")
	s.Advance(7 * 24 * time.Hour)
	var fresh []apiBuild
	for _, b := range oldestFirst(t, s) {
		if b.created > start {
			fresh = append(fresh, b)
		}
	}
	h := analyze(fresh)
	t.Logf("%d new builds: %d reruns, %d flaky revisions, %d streaks", len(fresh), len(h.reruns), h.flaky, h.streaks)
	if len(fresh) < 2000 || len(h.reruns) == 0 || h.flaky == 0 || h.streaks == 0 {
		t.Fatalf("%d new builds: %d reruns, %d flaky, %d streaks", len(fresh), len(h.reruns), h.flaky, h.streaks)
	}
}

// TestHistoryDeterministic: the whole listing, reruns included, is the same
// bytes for a seed.
func TestHistoryDeterministic(t *testing.T) {
	render := func(seed int64) []byte {
		s := newTestServer(t, Config{Seed: seed, Builds: 600, YAMLSize: 10})
		var all []byte
		for page := 1; page <= 3; page++ {
			_, body, _ := do(t, s, "/workflow?limit=200&page="+strconv.Itoa(page), "X-Pagination-Session-Id", "det")
			all = append(all, body...)
		}
		return all
	}
	a, b, c := render(7), render(7), render(8)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
}

// TestBuildRecordSize: linking builds costs the record no bytes, so a
// million builds still fit in a few tens of megabytes.
func TestBuildRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(build{}); n != 24 {
		t.Fatalf("build record is %d bytes, want 24", n)
	}
}
