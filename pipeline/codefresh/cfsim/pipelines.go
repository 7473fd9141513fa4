package cfsim

import (
	"fmt"
	"strings"
)

// projects serves GET /projects: {"projects":[...]}, offset/limit, filters
// name and tags.
func (c *call) projects() response {
	offset, limit, bad := c.offsetLimit()
	if bad != nil {
		return *bad
	}
	g := c.s.g
	name, tag := c.q.Get("name"), c.q.Get("tags")
	var sel []int
	for i := range g.projects {
		p := &g.projects[i]
		if name != "" && p.name != name {
			continue
		}
		if tag != "" && !contains(p.tags, tag) {
			continue
		}
		sel = append(sel, i)
	}
	return listPage("projects", sel, offset, limit, false, c.appendProject)
}

// project serves GET /projects/{id}.
func (c *call) project() response {
	i, found := c.s.g.projByID[c.params["id"]]
	if !found {
		return errNotFound(fmt.Sprintf("Could not find project: %s", c.params["id"]))
	}
	var w jw
	c.appendProject(&w, i)
	return ok(w.b)
}

func (c *call) appendProject(w *jw, i int) {
	g := c.s.g
	p := &g.projects[i]
	w.open('{')
	w.ks("id", p.id)
	w.ks("projectName", p.name)
	w.ks("accountId", g.accountID)
	w.kss("tags", p.tags...)
	w.kb("favorite", p.favorite)
	w.ki("pipelinesNumber", int64(p.pipelines))
	w.kt("updatedAt", p.updated)
	if i%2 == 0 {
		w.kn("image")
	}
	w.key("variables")
	w.open('[')
	variable(w, "REGION", "us-east-1", false)
	if i%3 == 0 {
		variable(w, "NPM_TOKEN", g.secretValue(kProject, uint64(i), 1), true)
	}
	w.close(']')
	w.key("metadata")
	w.open('{')
	w.kt("createdAt", p.created)
	w.close('}')
	w.close('}')
}

// variable writes {key,value,encrypted}; an encrypted value comes back as
// "*****", as Codefresh returns it without a decrypt parameter.
func variable(w *jw, k, v string, encrypted bool) {
	if encrypted {
		v = "*****"
	}
	w.open('{')
	w.ks("key", k)
	w.ks("value", v)
	w.kb("encrypted", encrypted)
	w.close('}')
}

// selectPipelines applies the /pipelines filters: id (the CLI passes a name
// here; we match id, full name or short name) and projectId.
func (c *call) selectPipelines() []int {
	g := c.s.g
	id, projectID := c.q.Get("id"), c.q.Get("projectId")
	var sel []int
	for i := range g.pipelines {
		p := &g.pipelines[i]
		if id != "" && id != p.id && id != p.name && id != p.short {
			continue
		}
		if projectID != "" && g.projects[p.projectIdx].id != projectID {
			continue
		}
		sel = append(sel, i)
	}
	return sel
}

// pipelines serves GET /pipelines: {"docs":[...],"count":N}, offset/limit.
// count is the number of matching pipelines, not the page size.
func (c *call) pipelines() response {
	offset, limit, bad := c.offsetLimit()
	if bad != nil {
		return *bad
	}
	sel := c.selectPipelines()
	decrypt := c.q.Get("decryptVariables") == "true"
	return docsPage(sel, offset, limit, true, func(w *jw, i int) { c.appendPipeline(w, i, decrypt) })
}

// pipelineNames serves GET /pipelines/names. Its shape is unverified (API.md
// §3.4): we send the guessed {docs:[{metadata{id,name,project,projectId}}],count}.
func (c *call) pipelineNames() response {
	offset, limit, bad := c.offsetLimit()
	if bad != nil {
		return *bad
	}
	g := c.s.g
	sel := c.selectPipelines()
	return docsPage(sel, offset, limit, true, func(w *jw, i int) {
		p := &g.pipelines[i]
		w.open('{')
		w.key("metadata")
		w.open('{')
		w.ks("id", p.id)
		w.ks("name", p.name)
		w.ks("project", p.project)
		w.ks("projectId", g.projects[p.projectIdx].id)
		w.close('}')
		w.close('}')
	})
}

// pipeline serves GET /pipelines/{name}: the full name (sent with %2F) or the id.
func (c *call) pipeline() response {
	g := c.s.g
	name := c.params["name"]
	i, found := g.pipeByName[name]
	if !found {
		i, found = g.pipeByID[name]
	}
	if !found {
		return errNotFound(fmt.Sprintf("Could not find pipeline: %s", name))
	}
	var w jw
	c.appendPipeline(&w, i, c.q.Get("decryptVariables") == "true")
	return ok(w.b)
}

func (c *call) appendPipeline(w *jw, i int, decrypt bool) {
	s := c.s
	g := s.g
	p := &g.pipelines[i]
	s.mu.RLock()
	last := s.lastExec[i]
	s.mu.RUnlock()
	w.open('{')
	w.ks("version", "1.0")
	w.ks("kind", "pipeline")
	w.key("metadata")
	w.open('{')
	w.ks("id", p.id)
	w.ks("name", p.name)
	w.ks("shortName", p.short)
	w.ks("project", p.project)
	w.ks("projectId", g.projects[p.projectIdx].id)
	w.ks("accountId", g.accountID)
	w.ki("revision", int64(p.revision))
	w.kb("isPublic", false)
	w.key("labels")
	w.open('{')
	w.kss("tags", p.tags...)
	w.close('}')
	if i%3 != 2 {
		w.ks("description", strings.ToUpper(p.short[:1])+p.short[1:]+" pipeline for "+p.project)
	}
	w.kt("created_at", p.created)
	w.kt("updated_at", p.updated)
	w.key("originalYamlString")
	w.b = append(w.b, p.userYAML...)
	w.key("deprecate")
	w.open('{')
	w.ks("applicationPort", "8080")
	w.kb("repoPipeline", true)
	w.close('}')
	w.close('}')

	w.key("spec")
	w.open('{')
	w.key("triggers")
	w.open('[')
	if p.gitTriggerID != "" {
		w.open('{')
		w.ks("type", "git")
		w.ks("id", p.gitTriggerID)
		w.ks("name", "on-push")
		w.ks("repo", repoOwner+"/"+p.repo)
		w.kss("events", "push.heads", "pullrequest.opened", "pullrequest.synchronize")
		w.ks("branchRegex", "/.*/gi")
		w.ks("branchRegexInput", "regex")
		w.ks("provider", "github")
		w.ks("context", "github")
		w.kb("disabled", false)
		w.kb("verified", true)
		w.ks("status", "verified")
		if last != 0 {
			w.kt("lastExecutionDate", last)
		}
		w.kempty("contexts")
		w.kempty("variables")
		w.close('}')
	}
	w.close(']')
	w.key("cronTriggers")
	w.open('[')
	if p.cronTriggerID != "" {
		w.open('{')
		w.ks("id", p.cronTriggerID)
		w.ks("name", "nightly")
		w.ks("type", "cron")
		w.ks("expression", fmt.Sprintf("0 %d * * *", i%24))
		w.ks("message", "nightly")
		w.ks("gitTriggerId", p.gitTriggerID)
		w.ks("branch", "main")
		w.kb("disabled", false)
		w.close('}')
	}
	w.close(']')
	w.kempty("contexts")
	w.key("variables")
	w.open('[')
	variable(w, "IMAGE", repoOwner+"/"+p.repo, false)
	if decrypt {
		// decryptVariables=true reveals the value: a loader must never send it.
		w.open('{')
		w.ks("key", "TOKEN")
		w.ks("value", g.secretValue(kPipeline, uint64(i), 3))
		w.kb("encrypted", true)
		w.close('}')
	} else {
		variable(w, "TOKEN", "", true)
	}
	w.close(']')
	w.key("steps")
	w.open('{')
	for _, st := range p.steps {
		w.key(st)
		appendStepSpec(w, st, p)
	}
	w.close('}')
	w.kss("stages", p.steps...)
	w.ks("mode", "sequential")
	w.key("runtimeEnvironment")
	w.open('{')
	w.ks("name", "system/default")
	w.ks("cpu", "1000m")
	w.ks("memory", "2048Mi")
	w.close('}')
	w.kempty("terminationPolicy")
	w.kempty("externalResources")
	w.ki("concurrency", int64(i%3))
	w.ki("priority", 0)
	w.close('}')
	if last != 0 {
		w.kt("last_executed", last)
	}
	w.close('}')
}

func appendStepSpec(w *jw, st string, p *simPipeline) {
	w.open('{')
	switch st {
	case "clone":
		w.ks("type", "git-clone")
		w.ks("repo", repoOwner+"/"+p.repo)
		w.ks("revision", "${{CF_REVISION}}")
	case "build":
		w.ks("type", "build")
		w.ks("image_name", repoOwner+"/"+p.repo)
		w.ks("tag", "${{CF_BRANCH}}")
	case "push":
		w.ks("type", "push")
		w.ks("candidate", "${{build}}")
		w.ks("tag", "${{CF_SHORT_REVISION}}")
		w.ks("registry", "dockerhub")
	case "deploy":
		w.ks("type", "helm")
		w.key("arguments")
		w.open('{')
		w.ks("action", "install")
		w.ks("chart_name", p.repo)
		w.ks("release_name", p.repo+"-${{CF_BRANCH_TAG_NORMALIZED}}")
		w.ks("kube_context", "prod-cluster")
		w.close('}')
	case "notify":
		w.ks("type", "slack-notifier")
		w.key("arguments")
		w.open('{')
		w.ks("SLACK_HOOK_URL", "${{SLACK_WEBHOOK_URL}}")
		w.ks("SLACK_TEXT", "Build ${{CF_BUILD_ID}} finished")
		w.close('}')
	default:
		w.ks("image", "golang:1.22")
		w.kss("commands", "make "+st)
	}
	w.ks("stage", st)
	w.close('}')
}
