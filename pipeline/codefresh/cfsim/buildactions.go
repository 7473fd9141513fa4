package cfsim

import (
	"fmt"
	"net/http"
	"strings"
)

// rebuild serves the side-effect GET /builds/rebuild/{id}: it records the
// call and, like Codefresh, starts a new build of the same pipeline, branch
// and revision and returns its id.
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
	idx := uint64(len(s.builds))
	nb := s.g.newBuild(idx, s.now, len(s.g.pipelines))
	s.g.asRerun(idx, s.builds, uint64(i), &nb)
	s.g.setRunDur(idx, &nb)
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
