package cfsim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// buildFilter is the parsed /workflow query (API.md §3.5, §8).
type buildFilter struct {
	statuses  []string
	pipelines map[uint16]bool // nil = any
	branch    int             // -1 = any, -2 = matches nothing
	trigger   string
	revision  string
	triggerID string
	low, high int // index bounds from startDate/endDate
}

// parseBuildFilter reads the filters. Other parameters (service, committer,
// ...) are accepted and ignored.
func (c *call) parseBuildFilter(n int, builds []build) (*buildFilter, *response) {
	f := &buildFilter{branch: -1, low: 0, high: n}
	for _, v := range c.q["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.statuses = append(f.statuses, st)
			}
		}
	}
	if ids := c.q["pipeline"]; len(ids) > 0 {
		f.pipelines = map[uint16]bool{}
		for _, v := range ids {
			for _, id := range strings.Split(v, ",") {
				if i, ok := c.s.g.pipeByID[strings.TrimSpace(id)]; ok {
					f.pipelines[uint16(i)] = true
				}
			}
		}
	}
	if br := c.q.Get("branchName"); br != "" {
		f.branch = -2
		for i, b := range branchSet {
			if b == br {
				f.branch = i
			}
		}
	}
	f.trigger = c.q.Get("trigger")
	f.revision = c.q.Get("revision")
	f.triggerID = c.q.Get("pipelineTriggerId")
	// Dates are whole UTC days, both ends inclusive (the CLI's YYYY-MM-DD).
	for _, p := range []struct {
		name string
		dst  *int
		next bool
	}{{"startDate", &f.low, false}, {"endDate", &f.high, true}} {
		v := c.q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			r := errBadRequest(fmt.Sprintf("%s must be a date in the form YYYY-MM-DD", p.name))
			return nil, &r
		}
		if p.next {
			t = t.Add(24 * time.Hour)
		}
		bound := t.UnixMilli()
		*p.dst = sort.Search(n, func(i int) bool { return builds[i].created >= bound })
	}
	return f, nil
}

func (f *buildFilter) match(g *gen, builds []build, now int64, i int) bool {
	b := &builds[i]
	if f.pipelines != nil && !f.pipelines[b.pipeline] {
		return false
	}
	if f.branch != -1 && int(b.branch) != f.branch {
		return false
	}
	if len(f.statuses) > 0 && !contains(f.statuses, b.status(now)) {
		return false
	}
	if f.trigger != "" && f.trigger != "build" {
		return false
	}
	if f.triggerID != "" && f.triggerID != g.triggerID(b) {
		return false
	}
	if f.revision != "" && f.revision != string(g.appendSHA(nil, kBuild, b.commit(uint64(i)))) {
		return false
	}
	return true
}

func (g *gen) triggerID(b *build) string {
	p := &g.pipelines[b.pipeline]
	switch b.trig {
	case trigGit:
		return p.gitTriggerID
	case trigCron:
		return p.cronTriggerID
	}
	return ""
}
