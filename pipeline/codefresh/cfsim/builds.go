package cfsim

import "fmt"

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
	commit := b.commit(idx) // a rerun shows the original's commit
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
	w.b = g.appendSHA(w.b, kBuild, commit)
	sha := w.b[shaAt:]
	w.b = append(w.b, '"')
	w.ks("commitMessage", pick(g.h(kBuild, commit, 21), commitMsgs))
	w.key("commitURL")
	w.b = append(w.b, `"https://github.com/`...)
	w.b = append(w.b, repoOwner+"/"...)
	w.b = append(w.b, p.repo...)
	w.b = append(w.b, "/commit/"...)
	w.b = append(w.b, sha[:40]...)
	w.b = append(w.b, '"')
	committer := &g.users[g.h(kBuild, commit, 22)%uint64(len(g.users))]
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
