package cfsim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// buildFilter is the parsed /workflow query (API.md §3.5, §8).
type buildFilter struct {
	statuses  []string
	pipelines map[uint32]bool // nil = any
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
		f.pipelines = map[uint32]bool{}
		for _, v := range ids {
			for _, id := range strings.Split(v, ",") {
				if i, ok := c.s.g.pipeByID[strings.TrimSpace(id)]; ok {
					f.pipelines[uint32(i)] = true
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
	if f.revision != "" && f.revision != string(g.appendSHA(nil, kBuild, uint64(i))) {
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

// workflows serves GET /workflow:
// {"workflows":{"docs":[...]},"pagination":{"page","pageSize","nextPage"}}.
func (c *call) workflows() response {
	s := c.s
	limit, okl := c.intParam("limit", defaultLimit)
	if !okl || limit < 0 {
		return errBadRequest("limit must be a non-negative integer")
	}
	if limit == 0 {
		limit = defaultLimit
	}
	s.mu.RLock()
	builds, now := s.builds, s.now
	s.mu.RUnlock()
	// builds is append-only and settled state derives from now, so the
	// slice header read under the lock stays valid without holding it.
	f, bad := c.parseBuildFilter(len(builds), builds)
	if bad != nil {
		return *bad
	}
	match := func(i int) bool { return f.match(s.g, builds, now, i) }
	res, bad := c.cursorPage("builds", len(builds), f.low, f.high, limit, match)
	if bad != nil {
		return *bad
	}
	w := jw{b: make([]byte, 0, 256+len(res.idx)*(2*s.cfg.YAMLSize+3500))}
	w.open('{')
	w.key("workflows")
	w.open('{')
	w.key("docs")
	w.open('[')
	for _, i := range res.idx {
		s.appendBuild(&w, i, &builds[i], now)
	}
	w.close(']')
	w.close('}')
	w.key("pagination")
	w.open('{')
	w.ki("page", int64(res.page))
	w.ki("pageSize", int64(limit))
	w.kb("nextPage", res.more)
	w.close('}')
	w.close('}')
	return ok(w.b)
}

// lookupBuild finds a build by id for the detail endpoints.
func (c *call) lookupBuild(id string) (int, build, int64, *response) {
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, found := s.buildIndex(id)
	if !found {
		r := errNotFound(fmt.Sprintf("Could not find build: %s", id))
		return 0, build{}, 0, &r
	}
	return i, s.builds[i], s.now, nil
}

// buildGet serves GET /builds/{id}; noAccount is optional (the spec marks it
// required, the CLI always sends it).
func (c *call) buildGet() response {
	i, b, now, bad := c.lookupBuild(c.params["id"])
	if bad != nil {
		return *bad
	}
	var w jw
	c.s.appendBuild(&w, i, &b, now)
	return ok(w.b)
}

var (
	avatarBase = "https://avatars.example.com/u/"
	gitEvents  = [][3]string{{"push", "push.heads", "Push commits"}, {"push", "push.heads", "Push commits"}, {"pullrequest", "pullrequest.opened", "Pull request opened"}, {"pullrequest", "pullrequest.synchronize", "Pull request synchronized"}}
)

const packID = "5cd1746617313f468d669013"

// appendBuild renders one build object in the field order of the samples.
func (s *Server) appendBuild(w *jw, i int, b *build, now int64) {
	g := s.g
	p := &g.pipelines[b.pipeline]
	idx := uint64(i)
	status := b.status(now)
	var started, finished int64
	if status != "pending" {
		started = b.startedAt()
		if status != "running" {
			finished = b.finishedAt()
		}
	}
	w.open('{')
	w.key("id")
	w.b = append(w.b, '"')
	w.b = g.appendOID(w.b, kBuild, idx, b.created/1000)
	w.b = append(w.b, '"')
	w.ks("account", g.accountID)
	w.ks("status", status)
	w.kt("created", b.created)
	w.ktn("started", started)
	w.ktn("finished", finished)
	w.raw(p.buildFrag)
	branch := branchSet[b.branch]
	w.ks("branchName", branch)
	w.key("branchURL")
	w.b = append(w.b, `"https://github.com/`...)
	w.b = append(w.b, repoOwner+"/"...)
	w.b = append(w.b, p.repo...)
	w.b = append(w.b, "/tree/"...)
	w.b = append(w.b, branch...)
	w.b = append(w.b, '"')
	w.key("revision")
	w.b = append(w.b, '"')
	shaAt := len(w.b)
	w.b = g.appendSHA(w.b, kBuild, idx)
	sha := w.b[shaAt:]
	w.b = append(w.b, '"')
	w.ks("commitMessage", pick(g.h(kBuild, idx, 21), commitMsgs))
	w.key("commitURL")
	w.b = append(w.b, `"https://github.com/`...)
	w.b = append(w.b, repoOwner+"/"...)
	w.b = append(w.b, p.repo...)
	w.b = append(w.b, "/commit/"...)
	w.b = append(w.b, sha[:40]...)
	w.b = append(w.b, '"')
	committer := &g.users[g.h(kBuild, idx, 22)%uint64(len(g.users))]
	initiator := committer
	if b.trig == trigManual {
		initiator = &g.users[g.h(kBuild, idx, 23)%uint64(len(g.users))]
	}
	w.ks("committer", committer.name)
	w.ks("committerAvatar", committer.avatar)
	w.ks("initiator", initiator.name)
	w.ks("initiatorAvatar", initiator.avatar)
	w.ks("userName", initiator.name)
	w.ks("trigger", "build")
	switch b.trig {
	case trigGit:
		ev := gitEvents[g.h(kBuild, idx, 24)%uint64(len(gitEvents))]
		w.ks("triggerType", "git")
		w.ks("triggeredBy", committer.name)
		w.kb("webhookTriggered", true)
		w.ks("event", ev[0])
		w.ks("eventName", ev[1])
		w.ks("eventLabel", ev[2])
		w.ks("pipelineTriggerId", p.gitTriggerID)
		w.ks("pipelineTriggerName", "on-push")
	case trigCron:
		w.ks("triggerType", "cron")
		w.ks("triggeredBy", "cron")
		w.kb("webhookTriggered", false)
		w.ks("event", "cron")
		w.ks("eventName", "cron")
		w.ks("eventLabel", "Cron trigger")
		w.ks("pipelineTriggerId", p.cronTriggerID)
		w.ks("pipelineTriggerName", "nightly")
	default:
		w.ks("triggerType", "manual")
		w.ks("triggeredBy", initiator.name)
		w.kb("webhookTriggered", false)
	}
	w.key("progress")
	w.b = append(w.b, '"')
	w.b = g.appendOID(w.b, kProgress, idx, b.created/1000)
	w.b = append(w.b, '"')
	w.ks("packId", packID)
	if status == "pending" {
		w.ks("pendingReason", "Waiting for an available runtime slot")
	}
	w.key("userYamlDescriptor")
	w.b = append(w.b, p.userYAML...)
	w.key("finalWorkflowYaml")
	w.b = append(w.b, p.finalYAML...)
	w.kempty("steps")

	w.key("annotations")
	w.open('[')
	if g.annotated(idx) {
		w.open('{')
		w.key("annotationId")
		w.b = append(w.b, '"')
		w.b = g.appendOID(w.b, kAnnotation, idx, b.created/1000)
		w.b = append(w.b, '"')
		w.ks("key", "jira")
		w.ks("value", fmt.Sprintf("ACME-%d", 100+g.h(kAnnotation, idx, 1)%900))
		w.ks("type", "string")
		w.kb("display", true)
		w.kt("updatedAt", b.created+5000)
		w.close('}')
	}
	w.close(']')

	w.key("systemEvents")
	w.open('[')
	if status == "error" {
		step := p.steps[len(p.steps)-1]
		w.open('{')
		w.key("_id")
		w.b = append(w.b, '"')
		w.b = g.appendOID(w.b, kSystemEvent, idx, finished/1000)
		w.b = append(w.b, '"')
		w.ks("kind", "error")
		w.ks("message", fmt.Sprintf("Step %s failed: exit code 1", step))
		w.kb("retriable", false)
		w.ks("step", step)
		w.ks("stepKind", stepKind(step))
		w.ks("stepName", step)
		w.close('}')
	}
	w.close(']')

	w.key("terminationRequest")
	w.open('[')
	if status == "terminated" {
		who := &g.users[g.h(kTermination, idx, 1)%uint64(len(g.users))]
		w.open('{')
		w.key("_id")
		w.b = append(w.b, '"')
		w.b = g.appendOID(w.b, kTermination, idx, finished/1000)
		w.b = append(w.b, '"')
		w.kb("byBuildManager", false)
		w.ks("cause", "user")
		w.kt("date", finished-1500)
		w.ks("message", "Build was terminated by "+who.name)
		w.ks("workflowStatus", "running")
		w.close('}')
	}
	w.close(']')
	w.kempty("pendingApprovals")

	w.key("exposedVariables")
	w.open('{')
	w.key("pipeline")
	w.open('[')
	kv(w, "IMAGE", repoOwner+"/"+p.repo)
	kv(w, "DEPLOY_TOKEN", g.secretValue(kPipeline, uint64(b.pipeline), 1))
	w.close(']')
	w.kempty("pipelineTrigger")
	w.kempty("pipelineTriggerShared")
	w.key("project")
	w.open('[')
	kv(w, "REGION", "us-east-1")
	w.close(']')
	w.key("shared")
	w.open('[')
	kv(w, "SLACK_WEBHOOK_URL", "https://hooks.slack.example.com/services/"+g.secretValue(kAccount, 1, 2))
	w.close(']')
	w.close('}')
	w.kobj0("exportedVariables")

	w.key("runtime")
	w.open('{')
	w.key("schedulerConfig")
	w.open('{')
	w.ks("type", "KubernetesPod")
	w.close('}')
	w.close('}')
	w.ki("delayed", 0)
	w.kb("pendingLicense", false)
	w.kb("permitRestartFromFailedSteps", true)
	w.kb("useDebugger", false)
	w.kb("hasExtendedYaml", false)
	w.kb("hasImplicitGitCloneStep", g.h(kBuild, idx, 25)%3 == 0)
	w.kb("autoGeneratedYaml", false)
	w.ki("triggersCount", 1)
	w.close('}')
}

func kv(w *jw, k, v string) {
	w.open('{')
	w.ks("key", k)
	w.ks("value", v)
	w.close('}')
}

func stepKind(step string) string {
	if t, ok := stepTypeOf[step]; ok {
		return t
	}
	return "freestyle"
}

// annotated: one build in fifty carries an annotation (also listed by /annotations).
func (g *gen) annotated(idx uint64) bool { return g.h(kBuild, idx, 20)%50 == 0 }

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
	stepResult := func(j int) (string, bool) { // status, finished
		last := j == len(p.steps)-1
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
	w.ks("type", "s3")
	w.ks("url", fmt.Sprintf("https://storage.example.com/logs/%s.json?signature=%016x", id, s.g.h(kProgress, idx, 1)))
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

// rebuild serves the side-effect GET /builds/rebuild/{id}: it records the
// call and, like Codefresh, starts a new build of the same pipeline and
// returns its id.
func (c *call) rebuild() response {
	s := c.s
	id := c.params["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sideCalls = append(s.sideCalls, "GET /builds/rebuild/"+id)
	i, found := s.buildIndex(id)
	if !found || len(s.builds) >= maxIndex {
		return errNotFound(fmt.Sprintf("Could not find build: %s", id))
	}
	nb := s.g.newBuild(uint64(len(s.builds)), s.now, len(s.g.pipelines))
	nb.pipeline, nb.branch, nb.trig = s.builds[i].pipeline, s.builds[i].branch, trigManual
	s.builds = append(s.builds, nb)
	s.lastExec[nb.pipeline] = nb.created
	var w jw
	w.str(s.buildID(len(s.builds) - 1))
	return ok(w.b)
}

// approval serves the side-effect approve/deny GETs: recorded; no build here
// waits for approval, so Codefresh would refuse (400, our choice of body).
func (c *call) approval() response {
	s := c.s
	s.mu.Lock()
	s.sideCalls = append(s.sideCalls, "GET "+strings.TrimPrefix(c.r.URL.EscapedPath(), "/api"))
	s.mu.Unlock()
	return response{status: http.StatusBadRequest, body: errBadRequest("Build is not pending approval").body}
}
