package cfsim

import "fmt"

// The smaller endpoints the catalog also reads (API.md §3.9, §4).

var executionContexts = []string{"default", "deployer", "read-only"}

// executionContexts serves GET /execution-contexts: {"docs":[...]}, page and
// limit (mongoose style; an empty page ends the listing).
func (c *call) executionContexts() response {
	g := c.s.g
	page, ok1 := c.intParam("page", 1)
	limit, ok2 := c.intParam("limit", 10)
	if !ok1 || !ok2 || page < 1 || limit < 1 {
		return errBadRequest("page and limit must be positive integers")
	}
	var w jw
	w.open('{')
	w.key("docs")
	w.open('[')
	start := (page - 1) * limit
	for i := start; i < min(start+limit, len(executionContexts)); i++ {
		created := g.users[0].registered + int64(i)*7*day
		w.open('{')
		w.ks("_id", g.oid(kRuntime, uint64(i), created/1000))
		w.ks("name", executionContexts[i])
		w.ks("description", "Runs pipeline API calls as the "+executionContexts[i]+" identity")
		w.ks("account", g.accountID)
		w.kb("accountDefault", i == 0)
		w.kss("tags")
		w.kt("createdAt", created)
		w.kt("updatedAt", created+day)
		w.ki("__v", 0)
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return ok(w.b)
}

// environments serves GET /environments: legacy composition environments.
func (c *call) environments() response {
	g := c.s.g
	var w jw
	w.open('[')
	for i, name := range []string{"preview-login", "preview-cache"} {
		p := &simPipeline{repo: "app"}
		if len(g.pipelines) > 0 {
			p = &g.pipelines[i%len(g.pipelines)]
		}
		w.open('{')
		w.ks("_id", g.oid(kRuntime, uint64(100+i), g.users[0].registered/1000))
		w.ks("name", name)
		w.ks("creationStatus", "done")
		w.key("instances")
		w.open('[')
		w.open('{')
		w.ks("serviceName", p.repo)
		w.ks("image", fmt.Sprintf("r.example.com/%s/%s:%s", repoOwner, p.repo, name))
		w.key("sha")
		w.b = append(w.b, '"')
		w.b = g.appendSHA(w.b, kRuntime, uint64(100+i))
		w.b = append(w.b, '"')
		w.ks("branch", "feature/"+name[len("preview-"):])
		w.ks("repoName", p.repo)
		w.kss("urls", "https://"+name+".preview.example.com")
		w.close('}')
		w.close(']')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// compositions serves GET /compositions.
func (c *call) compositions() response {
	g := c.s.g
	var w jw
	w.open('[')
	for i, name := range []string{"backend-stack", "e2e-env"} {
		created := g.users[0].registered + int64(i+3)*day
		w.open('{')
		w.ks("_id", g.oid(kRuntime, uint64(200+i), created/1000))
		w.ks("name", name)
		w.kb("isAdvanced", i == 1)
		w.kt("created", created)
		w.ks("account", g.accountID)
		w.key("vars")
		w.open('[')
		w.open('{')
		w.ks("key", "PORT")
		w.ks("value", "8080")
		w.close('}')
		w.close(']')
		w.ks("yamlJson", `{"version":"3","services":{"app":{"image":"`+repoOwner+`/`+name+`"}}}`)
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// reposExisting serves GET /repos/existing: one repository per project.
func (c *call) reposExisting() response {
	g := c.s.g
	var w jw
	w.open('[')
	for i := range g.projects {
		p := &g.projects[i]
		w.open('{')
		w.ks("serviceName", repoOwner+"/"+p.name)
		w.ks("provider", "github")
		w.key("owner")
		w.open('{')
		w.ks("login", repoOwner)
		w.close('}')
		w.ks("name", p.name)
		w.kb("private", i%4 != 3)
		w.ks("ssh_url", "git@github.com:"+repoOwner+"/"+p.name+".git")
		w.ks("clone_url", "https://github.com/"+repoOwner+"/"+p.name+".git")
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}
