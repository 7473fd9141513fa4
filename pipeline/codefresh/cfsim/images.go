package cfsim

import (
	"fmt"
	"strings"
)

// Images are fully derived from (seed, index): index order is creation
// order, spread over the history window.

func (g *gen) imageCreated(i int) int64 {
	gap := float64(g.imgEnd-g.imgStart) / float64(max(g.images, 1))
	return g.imgStart + int64(float64(i)*gap+frac(g.h(kImage, uint64(i), 0))*gap*0.9)
}

func (g *gen) imagePipeline(i int) *simPipeline {
	return &g.pipelines[g.h(kImage, uint64(i), 1)%uint64(len(g.pipelines))]
}

func (g *gen) imageBranch(i int) string {
	return branchSet[g.h(kImage, uint64(i), 2)%uint64(len(branchSet))]
}

// imagesList serves GET /images: {"docs":[...],"total","limit","offset"},
// paged with the same server-side cursor as builds (API.md §3.7, §5.1);
// offset reports where the page starts. Filters: branch, sha, tag.
func (c *call) imagesList() response {
	g := c.s.g
	limit, okl := c.intParam("limit", defaultLimit)
	if !okl || limit < 0 {
		return errBadRequest("limit must be a non-negative integer")
	}
	if limit == 0 {
		limit = defaultLimit
	}
	branch, sha, tag := c.q.Get("branch"), c.q.Get("sha"), c.q.Get("tag")
	match := func(i int) bool {
		if branch != "" && g.imageBranch(i) != branch {
			return false
		}
		if sha != "" && string(g.appendSHA(nil, kImage, uint64(i))) != sha {
			return false
		}
		if tag != "" && tag != g.imageBranch(i) && tag != g.imageTag(i) {
			return false
		}
		return true
	}
	total := g.images
	if branch != "" || sha != "" || tag != "" {
		total = 0
		for i := 0; i < g.images; i++ {
			if match(i) {
				total++
			}
		}
	}
	res, bad := c.cursorPage("images", g.images, 0, g.images, limit, match)
	if bad != nil {
		return *bad
	}
	var w jw
	w.open('{')
	w.key("docs")
	w.open('[')
	for _, i := range res.idx {
		g.appendImage(&w, i)
	}
	w.close(']')
	w.ki("total", int64(total))
	w.ki("limit", int64(limit))
	w.ki("offset", int64(max(res.page-1, 0)*limit))
	w.close('}')
	return ok(w.b)
}

// imageGet serves GET /images/{id}.
func (c *call) imageGet() response {
	g := c.s.g
	id := c.params["id"]
	idx, found := g.decodeOID(id, kImage)
	if !found || idx >= uint64(g.images) || g.oid(kImage, idx, g.imageCreated(int(idx))/1000) != id {
		return errNotFound(fmt.Sprintf("Could not find image: %s", id))
	}
	var w jw
	g.appendImage(&w, int(idx))
	return ok(w.b)
}

func (g *gen) imageTag(i int) string {
	return fmt.Sprintf("1.%d.%d", g.h(kImage, uint64(i), 3)%20, i%100)
}

func (g *gen) appendImage(w *jw, i int) {
	p := g.imagePipeline(i)
	idx := uint64(i)
	created := g.imageCreated(i)
	name := repoOwner + "/" + p.repo
	w.open('{')
	w.ks("_id", g.oid(kImage, idx, created/1000))
	w.key("internalImageId")
	w.b = append(w.b, `"sha256:`...)
	w.b = g.appendHex(w.b, kImageTag, idx, 64)
	w.b = append(w.b, '"')
	w.ks("imageDisplayName", name)
	w.ks("imageName", name)
	w.ks("internalName", name)
	w.kt("created", created)
	w.ki("size", int64(20_000_000+g.h(kImage, idx, 4)%400_000_000))
	w.key("sha")
	w.b = append(w.b, '"')
	w.b = g.appendSHA(w.b, kImage, idx)
	w.b = append(w.b, '"')
	branch := g.imageBranch(i)
	w.ks("branch", branch)
	w.key("commit")
	w.b = append(w.b, '"')
	w.b = g.appendSHA(w.b, kImage, idx)
	w.b = append(w.b, '"')
	w.ks("account", g.accountID)
	w.key("metadata")
	w.open('{')
	w.kb("CF_QUALITY", g.h(kImage, idx, 5)%5 != 0)
	w.close('}')
	w.key("tags")
	w.open('[')
	for t, tag := range []string{strings.ReplaceAll(branch, "/", "-"), g.imageTag(i)} {
		w.open('{')
		w.ks("_id", g.oid(kImageTag, idx*2+uint64(t), created/1000))
		w.ks("tag", tag)
		w.ks("registry", "r.example.com")
		w.ks("repository", name)
		w.close('}')
	}
	w.close(']')
	w.key("repoDigest")
	w.b = append(w.b, `"r.example.com/`...)
	w.b = append(w.b, name...)
	w.b = append(w.b, "@sha256:"...)
	w.b = g.appendHex(w.b, kImageTag, idx+1<<40, 64)
	w.b = append(w.b, '"')
	w.close('}')
}

// stepTypesList serves GET /step-types: {"docs":[...]}, offset/limit.
// Filters: id (name), official, private (only the account's own steps),
// category.
func (c *call) stepTypesList() response {
	offset, limit, bad := c.offsetLimit()
	if bad != nil {
		return *bad
	}
	g := c.s.g
	id, official, private, category := c.q.Get("id"), c.q.Get("official"), c.q.Get("private"), c.q.Get("category")
	var sel []int
	for i := range g.stepTypes {
		st := &g.stepTypes[i]
		if id != "" && id != st.name && id != st.id {
			continue
		}
		if official == "true" && !st.official {
			continue
		}
		if private == "true" && st.public {
			continue
		}
		if category != "" && category != st.category {
			continue
		}
		sel = append(sel, i)
	}
	return docsPage(sel, offset, limit, false, g.appendStepType)
}

// stepTypeGet serves GET /step-types/{name} (name or name:version).
func (c *call) stepTypeGet() response {
	g := c.s.g
	name, _, _ := strings.Cut(c.params["name"], ":")
	for i := range g.stepTypes {
		if g.stepTypes[i].name == name {
			var w jw
			g.appendStepType(&w, i)
			return ok(w.b)
		}
	}
	return errNotFound(fmt.Sprintf("Could not find step-type: %s", c.params["name"]))
}

func (g *gen) appendStepType(w *jw, i int) {
	st := &g.stepTypes[i]
	short := st.name[strings.LastIndex(st.name, "/")+1:]
	version := fmt.Sprintf("%d.%d.%d", g.h(kStepType, uint64(i), 6)%2, g.h(kStepType, uint64(i), 7)%10, g.h(kStepType, uint64(i), 8)%20)
	w.open('{')
	w.ks("version", "1.0")
	w.ks("kind", "step-type")
	w.key("metadata")
	w.open('{')
	w.ks("name", st.name)
	w.kb("isPublic", st.public)
	w.ks("description", "Runs "+short+" as a pipeline step")
	w.kss("sources", "https://github.com/codefresh-io/steps/tree/master/"+st.stage+"/"+short)
	w.ks("stage", st.stage)
	w.key("maintainers")
	w.open('[')
	w.open('{')
	w.ks("name", "Codefresh")
	w.close('}')
	w.close(']')
	w.kss("categories", st.category)
	w.kb("official", st.official)
	w.kss("tags")
	w.key("icon")
	w.open('{')
	w.ks("type", "svg")
	w.ks("url", "https://cdn.jsdelivr.net/gh/codefresh-io/steps/"+st.stage+"/"+short+"/icon.svg")
	w.ks("background", "#f4f4f4")
	w.close('}')
	w.key("examples")
	w.open('[')
	w.open('{')
	w.ks("description", "example-1")
	w.key("workflow")
	w.open('{')
	w.ks("version", "1.0")
	w.key("steps")
	w.open('{')
	w.key("RunStep")
	w.open('{')
	w.ks("title", "Run "+short)
	w.ks("type", short+":"+version)
	w.key("arguments")
	w.open('{')
	w.ks("INPUT", "${{INPUT}}")
	w.close('}')
	w.close('}')
	w.close('}')
	w.close('}')
	w.close('}')
	w.close(']')
	w.kt("created_at", st.created)
	w.kt("updated_at", st.updated)
	w.kb("latest", true)
	w.ks("version", version)
	w.ks("id", st.id)
	w.close('}')
	w.key("spec")
	w.open('{')
	w.ks("arguments", "{\n    \"definitions\": {},\n    \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n    \"type\": \"object\",\n    \"additionalProperties\": false,\n    \"required\": [\"INPUT\"],\n    \"properties\": {\n        \"INPUT\": {\"type\": \"string\", \"description\": \"Input value\"}\n    }\n}")
	w.key("steps")
	w.open('{')
	w.key("main")
	w.open('{')
	w.ks("name", short)
	w.ks("image", "codefreshplugins/"+short)
	w.kss("environment", "INPUT=${{INPUT}}")
	w.close('}')
	w.close('}')
	w.close('}')
	w.key("metrics")
	w.open('{')
	w.ki("finished", st.finished)
	w.close('}')
	w.close('}')
}
