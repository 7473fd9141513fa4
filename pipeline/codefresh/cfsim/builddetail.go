package cfsim

import "fmt"

// stepTimes splits a build's run into pre-steps, one slot per step, and
// post-steps; times are unix ms.
type stepTimes struct {
	preStart, preEnd int64
	steps            [][2]int64
	postStart        int64
	end              int64
}

func (g *gen) stepTimes(idx uint64, b *build) stepTimes {
	p := &g.pipelines[b.pipeline]
	start, end := b.startedAt(), b.finishedAt()
	d := end - start
	t := stepTimes{preStart: start + 300, end: end}
	t.preEnd = start + max(d/10, 1000)
	t.postStart = end - max(d/20, 500)
	span := max(t.postStart-t.preEnd, int64(len(p.steps)))
	per := span / int64(len(p.steps))
	at := t.preEnd + 200
	for j := range p.steps {
		// Each step fills 75-95% of its slot, so steps never overlap.
		d := max(per*3/4+int64(g.h(kRevision, idx, uint64(j))%uint64(max(per/5, 1))), 1)
		t.steps = append(t.steps, [2]int64{at, min(at+d, t.postStart)})
		at += per
	}
	return t
}

// contextRevision serves GET /workflow/{id}/context-revision: the build's
// state-YAML revisions; the last one holds context.workflowMetadata and
// context.stepsMetadata, shaped like the docs example.
func (c *call) contextRevision() response {
	i, b, now, bad := c.lookupBuild(c.params["id"])
	if bad != nil {
		return *bad
	}
	g := c.s.g
	idx := uint64(i)
	p := &g.pipelines[b.pipeline]
	status := b.status(now)
	buildID := g.oid(kBuild, idx, b.created/1000)
	flowLogger := fmt.Sprintf("%s_%d", buildID, b.created)
	t := g.stepTimes(idx, &b)

	var w jw
	w.open('[')
	rev := int64(1)
	revision := func(at int64, desc, event string, final bool, body func()) {
		w.open('{')
		w.key("_id")
		w.b = append(w.b, '"')
		w.b = g.appendOID(w.b, kRevision, idx*8+uint64(rev), at/1000)
		w.b = append(w.b, '"')
		w.key("context")
		w.open('{')
		body()
		w.close('}')
		w.key("metadata")
		w.open('{')
		w.ks("account", g.accountID)
		w.ks("process", buildID)
		w.ks("description", desc)
		w.ki("revision", rev)
		w.key("annotations")
		w.open('{')
		w.ks("event", event)
		w.kb("final", final)
		w.close('}')
		w.close('}')
		w.close('}')
		rev++
	}
	revision(b.created, "Workflow created", "workflow.created", false, func() {
		w.key("workflowMetadata")
		w.open('{')
		w.ks("status", "pending")
		w.close('}')
		w.kobj0("stepsMetadata")
	})
	if status == "pending" {
		w.close(']')
		return ok(w.b)
	}
	settled := status != "running"
	result := status
	failAt := g.failedStep(idx, p.steps)
	stepResult := func(j int) (string, bool) { // status, finished
		last := j == failAt
		switch {
		case !settled && now < t.steps[j][1]:
			return "running", false
		case settled && last && status == "error":
			return "failure", true
		case settled && last && status == "terminated":
			return "terminated", true
		}
		return "success", true
	}
	desc, event := "Workflow running", "step.status"
	if settled {
		desc, event = "Workflow post operations completed", "workflow.finish-system"
	}
	revision(min(now, t.end), desc, event, settled, func() {
		w.key("workflowMetadata")
		w.open('{')
		w.kt("startTimestamp", b.startedAt())
		w.kt("preStepsStartTimestamp", t.preStart)
		w.ks("flow-logger-id", flowLogger)
		w.kt("preStepsFinishTimestamp", t.preEnd)
		w.ki("preStepsTotalTime", t.preEnd-t.preStart)
		w.ks("preStepsStatus", "success")
		if settled {
			w.ks("result", result)
		}
		w.ks("status", status)
		w.ks("mode", "sequential")
		if settled {
			w.kt("finishTimestamp", t.postStart)
			w.ki("totalTime", t.postStart-b.startedAt())
			w.kt("postStepsStartTimestamp", t.postStart)
			w.kt("finishTimestamp-system", t.end)
			w.kt("postStepsFinishTimestamp", t.end)
			w.ki("postStepsTotalTime", t.end-t.postStart)
			w.ks("postStepsStatus", "success")
		}
		w.close('}')
		w.key("stepsMetadata")
		w.open('{')
		w.key("Initializing Process")
		w.open('{')
		w.kt("startTimestamp", t.preStart)
		w.ks("status", "success")
		w.kt("finishTimestamp", t.preEnd-10)
		w.ki("totalTime", t.preEnd-10-t.preStart)
		w.close('}')
		w.key("Initializing")
		w.open('{')
		w.key("containerId")
		w.b = append(w.b, '"')
		w.b = g.appendHex(w.b, kRevision, idx, 64)
		w.b = append(w.b, '"')
		w.close('}')
		for j, name := range p.steps {
			if now < t.steps[j][0] {
				break
			}
			st, done := stepResult(j)
			w.key(name)
			w.open('{')
			w.ks("type", stepKind(name))
			if done {
				w.ks("result", st)
			}
			w.ks("status", st)
			w.kt("startTimestamp", t.steps[j][0])
			w.ki("maxAttempts", 1)
			w.ki("currentAttempt", 1)
			if stepKind(name) == "freestyle" {
				w.key("containerId")
				w.b = append(w.b, '"')
				w.b = g.appendHex(w.b, kRevision, idx<<8|uint64(j), 64)
				w.b = append(w.b, '"')
				w.ks("workingDirectory", "/codefresh/volume")
			}
			if done {
				w.kt("finishTimestamp", t.steps[j][1])
				w.ki("totalTime", t.steps[j][1]-t.steps[j][0])
			}
			w.close('}')
			if !done || st != "success" {
				break
			}
		}
		w.close('}')
	})
	w.close(']')
	return ok(w.b)
}

// failedStep is the index of the step a build that ends in error or
// terminated stops at (fail_fast: no later step runs): a test step most
// often, then build or lint, never the clone.
func (g *gen) failedStep(idx uint64, steps []string) int {
	if len(steps) < 2 {
		return len(steps) - 1
	}
	weight := func(name string) uint64 {
		switch name {
		case "unit_test", "integration_test":
			return 4
		case "build", "lint", "deploy":
			return 2
		}
		return 1
	}
	var total uint64
	for _, st := range steps[1:] {
		total += weight(st)
	}
	r := g.h(kProgress, idx, fLogFail+1) % total
	for j, st := range steps[1:] {
		if r < weight(st) {
			return j + 1
		}
		r -= weight(st)
	}
	return len(steps) - 1
}

// progress serves GET /progress/{id}: {id,status,location{type,url}}.
func (c *call) progress() response {
	s := c.s
	id := c.params["id"]
	s.mu.RLock()
	idx, found := s.g.decodeOID(id, kProgress)
	found = found && idx < uint64(len(s.builds)) && s.g.oid(kProgress, idx, s.builds[idx].created/1000) == id
	var b build
	if found {
		b = s.builds[idx]
	}
	now := s.now
	s.mu.RUnlock()
	if !found {
		return errNotFound(fmt.Sprintf("Could not find progress: %s", id))
	}
	var w jw
	w.open('{')
	w.ks("id", id)
	w.ks("status", b.status(now))
	w.key("location")
	w.open('{')
	typ, u := s.logLocation(id, idx, &b, now)
	w.ks("type", typ)
	w.ks("url", u)
	w.close('}')
	w.close('}')
	return ok(w.b)
}

// workflowData serves GET /workflow/{id}/data: {docs:[{_id,metadata{createdAt},data}]}.
func (c *call) workflowData() response {
	i, b, now, bad := c.lookupBuild(c.params["id"])
	if bad != nil {
		return *bad
	}
	g := c.s.g
	var w jw
	w.open('{')
	w.key("docs")
	w.open('[')
	if b.status(now) == "success" {
		w.open('{')
		w.ks("_id", g.oid(kDataItem, uint64(i), b.finishedAt()/1000))
		w.key("metadata")
		w.open('{')
		w.kt("createdAt", b.finishedAt()-2000)
		w.close('}')
		w.key("data")
		w.open('{')
		w.ks("coverage", fmt.Sprintf("%d%%", 50+g.h(kDataItem, uint64(i), 1)%50))
		w.close('}')
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return ok(w.b)
}
