package cfsim

import (
	"slices"
	"time"
)

// Builds are not independent draws: questions like "is this failure flaky?"
// and "how long until it was fixed?" need history that has answers. A lane
// is one pipeline's branch. A failure on a healthy lane is either flaky,
// and the same revision is rerun by hand a little later and passes, or
// real: the lane stays broken, its next commits mostly fail too until one
// fixes it (a failure streak). Someone sometimes reruns a real failure as
// well; that rerun fails again. Cancelled builds say nothing of the lane.
//
// Our choice of how a rerun looks (API.md shows none): a new build of the
// same pipeline and branch with the same revision, commit message, commit
// URL and committer, started by hand (triggerType "manual", trigger
// "build"), which is what GET /builds/rebuild/{id} starts too.
const (
	flakyPct       = 40 // failures on a healthy lane that are flaky
	retryRealPct   = 25 // real failures rerun anyway, failing again
	stillBrokenPct = 55 // new commits on a broken lane that fail too
	maxBack        = 1<<16 - 1
)

// pendingRerun is a failed build waiting for its rerun, and whether the
// rerun passes (the failure was flaky).
type pendingRerun struct {
	idx  uint32
	pass bool
	at   int64 // when the rerun is due; 0 until the first check
}

// lanes is what links builds to the ones before them; history builds it
// and Advance goes on from it.
type lanes struct {
	broken []bool         // per lane: pipeline*len(branchSet)+branch
	due    []pendingRerun // oldest first
}

func newLanes(pipelines int) *lanes {
	return &lanes{broken: make([]bool, max(pipelines, 1)*len(branchSet))}
}

func laneOf(b *build) int { return int(b.pipeline)*len(branchSet) + int(b.branch) }

// shape settles build len(prev), fresh from newBuild: it becomes the rerun
// of a failed build whose rerun is due, or its outcome follows its lane.
func (ln *lanes) shape(g *gen, prev []build, b *build) {
	idx := uint64(len(prev))
	if r, ok := ln.takeDue(g, prev, b.created); ok {
		g.asRerun(idx, prev, uint64(r.idx), b)
		b.final = stError
		if r.pass {
			b.final = stSuccess
		}
		g.setRunDur(idx, b)
		return
	}
	if b.final == stTerminated {
		return
	}
	l := laneOf(b)
	wasBroken := ln.broken[l]
	if wasBroken {
		b.final = stSuccess
		if g.h(kBuild, idx, 30)%100 < stillBrokenPct {
			b.final = stError
		}
		g.setRunDur(idx, b)
	}
	if b.final == stSuccess {
		ln.broken[l] = false
		return
	}
	flaky := !wasBroken && g.h(kBuild, idx, 31)%100 < flakyPct
	ln.broken[l] = !flaky
	if flaky || g.h(kBuild, idx, 32)%100 < retryRealPct {
		ln.due = append(ln.due, pendingRerun{idx: uint32(idx), pass: flaky})
	}
}

// takeDue removes and returns the oldest pending rerun whose time has come
// by created; one too far back for the record's back field is dropped.
func (ln *lanes) takeDue(g *gen, prev []build, created int64) (pendingRerun, bool) {
	idx := len(prev)
	for k := 0; k < len(ln.due); k++ {
		r := ln.due[k]
		if idx-int(r.idx) > maxBack {
			ln.due = slices.Delete(ln.due, k, k+1)
			k--
			continue
		}
		if r.at == 0 {
			// Computed at the first check, not when the failure is
			// recorded: history settles a build's times after shaping it.
			r.at = prev[r.idx].finishedAt() + g.rerunDelay(uint64(r.idx))
			ln.due[k].at = r.at
		}
		if created >= r.at {
			ln.due = slices.Delete(ln.due, k, k+1)
			return r, true
		}
	}
	return pendingRerun{}, false
}

// rerunDelay is how long after a failure someone reruns it.
func (g *gen) rerunDelay(idx uint64) int64 {
	return int64(2*time.Minute/time.Millisecond) + int64(g.h(kBuild, idx, 33)%uint64(40*time.Minute/time.Millisecond))
}

// asRerun makes build idx a manual rerun of build orig: same pipeline,
// branch and commit (a rerun of a rerun runs the first one's commit). A
// commit too far back for the record's back field is not kept: only GET
// /builds/rebuild/{id} of a very old build gets there.
func (g *gen) asRerun(idx uint64, prev []build, orig uint64, b *build) {
	o := &prev[orig]
	b.pipeline, b.branch, b.trig = o.pipeline, o.branch, trigManual
	if c := o.commit(orig); idx-c <= maxBack {
		b.back = uint16(idx - c)
	}
}
