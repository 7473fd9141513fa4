package cfsim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// call is one routed request.
type call struct {
	s         *Server
	r         *http.Request
	q         url.Values
	params    map[string]string
	cursorKey string // API key + session id: identifies the pagination cursor
}

type route struct {
	method  string
	pattern string // path below /api; {name} matches one (unescaped) segment
	scope   string // API-key scope required; "" = any valid key
	h       func(*call) response
	segs    []string
}

// Scopes, named like Codefresh API-key scopes ("build:read").
const (
	scopeBuild      = "build:read"
	scopeBuildWrite = "build:write"
	scopePipeline   = "pipeline:read"
	scopeProject    = "project:read"
	scopeImage      = "image:read"
	scopeStepType   = "step-type:read"
	scopeTrigger    = "trigger:read"
	scopeAPIKeys    = "api-keys:read"
	scopeTeam       = "team:read"
	scopeAbac       = "abac:read"
	scopeAgent      = "agent:read"
	scopeRuntime    = "runtime-environment:read"
	scopeRegistry   = "registry:read"
	scopeContext    = "context:read"
	scopeAnnotation = "annotation:read"
	scopeAudit      = "audit:read"
	scopeHelm       = "helm:read"
	scopeCluster    = "cluster:read"
	scopeAccount    = "account:read"
	scopeExecCtx    = "execution-context:read"
	scopeEnv        = "environment:read"
	scopeCompose    = "composition:read"
	scopeRepos      = "repos:read"
)

// routes is the simulator's own table: every GET a loader reads (API.md §3,
// §4) plus the side-effect GETs, which record that they were called.
var routes = compile([]route{
	{method: "GET", pattern: "/user", h: (*call).user},
	{method: "GET", pattern: "/projects", scope: scopeProject, h: (*call).projects},
	{method: "GET", pattern: "/projects/{id}", scope: scopeProject, h: (*call).project},
	{method: "GET", pattern: "/pipelines", scope: scopePipeline, h: (*call).pipelines},
	{method: "GET", pattern: "/pipelines/names", scope: scopePipeline, h: (*call).pipelineNames},
	{method: "GET", pattern: "/pipelines/{name}", scope: scopePipeline, h: (*call).pipeline},
	{method: "GET", pattern: "/workflow", scope: scopeBuild, h: (*call).workflows},
	{method: "GET", pattern: "/builds/{id}", scope: scopeBuild, h: (*call).buildGet},
	{method: "GET", pattern: "/workflow/{id}/context-revision", scope: scopeBuild, h: (*call).contextRevision},
	{method: "GET", pattern: "/workflow/{id}/data", scope: scopeBuild, h: (*call).workflowData},
	{method: "GET", pattern: "/progress/{id}", scope: scopeBuild, h: (*call).progress},
	{method: "GET", pattern: "/builds/rebuild/{id}", scope: scopeBuildWrite, h: (*call).rebuild},
	{method: "GET", pattern: "/workflow/{id}/pending-approval/approve", scope: scopeBuildWrite, h: (*call).approval},
	{method: "GET", pattern: "/workflow/{id}/pending-approval/deny", scope: scopeBuildWrite, h: (*call).approval},
	{method: "GET", pattern: "/images", scope: scopeImage, h: (*call).imagesList},
	{method: "GET", pattern: "/images/{id}", scope: scopeImage, h: (*call).imageGet},
	{method: "GET", pattern: "/step-types", scope: scopeStepType, h: (*call).stepTypesList},
	{method: "GET", pattern: "/step-types/{name}", scope: scopeStepType, h: (*call).stepTypeGet},
	{method: "GET", pattern: "/hermes/triggers", scope: scopeTrigger, h: (*call).hermesTriggers},
	{method: "GET", pattern: "/hermes/triggers/pipeline/{id}", scope: scopeTrigger, h: (*call).hermesTriggers},
	{method: "GET", pattern: "/hermes/events", scope: scopeTrigger, h: (*call).hermesEvents},
	{method: "GET", pattern: "/hermes/types", scope: scopeTrigger, h: (*call).hermesTypes},
	{method: "GET", pattern: "/execution-contexts", scope: scopeExecCtx, h: (*call).executionContexts},
	{method: "GET", pattern: "/environments", scope: scopeEnv, h: (*call).environments},
	{method: "GET", pattern: "/compositions", scope: scopeCompose, h: (*call).compositions},
	{method: "GET", pattern: "/repos/existing", scope: scopeRepos, h: (*call).reposExisting},
	{method: "GET", pattern: "/auth/keys", scope: scopeAPIKeys, h: (*call).authKeys},
	{method: "GET", pattern: "/team", scope: scopeTeam, h: (*call).teams},
	{method: "GET", pattern: "/abac", scope: scopeAbac, h: (*call).abac},
	{method: "GET", pattern: "/agents", scope: scopeAgent, h: (*call).agents},
	{method: "GET", pattern: "/runtime-environments", scope: scopeRuntime, h: (*call).runtimeEnvs},
	{method: "GET", pattern: "/registries", scope: scopeRegistry, h: (*call).registries},
	{method: "GET", pattern: "/contexts", scope: scopeContext, h: (*call).contexts},
	{method: "GET", pattern: "/contexts/{name}", scope: scopeContext, h: (*call).contextGet},
	{method: "GET", pattern: "/annotations", scope: scopeAnnotation, h: (*call).annotations},
	{method: "GET", pattern: "/audit", scope: scopeAudit, h: (*call).audit},
	{method: "GET", pattern: "/helm/repos", scope: scopeHelm, h: (*call).helmRepos},
	{method: "GET", pattern: "/clusters", scope: scopeCluster, h: (*call).clusters},
	{method: "GET", pattern: "/accounts/{id}/users", scope: scopeAccount, h: (*call).accountUsers},
})

func compile(rs []route) []route {
	for i := range rs {
		rs[i].segs = strings.Split(strings.Trim(rs[i].pattern, "/"), "/")
	}
	return rs
}

// match finds the route for an escaped path. Segments are unescaped one by
// one, so "/pipelines/backend%2Fbuild" reaches /pipelines/{name} with name
// "backend/build", as Codefresh's router does. Literal segments win over
// parameters (/pipelines/names is not a pipeline called "names").
func match(method, escapedPath string) (*route, map[string]string, bool) {
	raw := strings.Split(strings.Trim(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil {
			return nil, nil, false
		}
		segs[i] = u
	}
	var best *route
	var bestParams map[string]string
	bestLiterals := -1
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		literals := 0
		ok := true
		for j, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				if segs[j] == "" {
					ok = false
					break
				}
				params[p[1:len(p)-1]] = segs[j]
				continue
			}
			if p != raw[j] {
				ok = false
				break
			}
			literals++
		}
		if ok && literals > bestLiterals {
			best, bestParams, bestLiterals = rt, params, literals
		}
	}
	return best, bestParams, best != nil
}

// Query helpers.

// intParam reads an integer parameter; def when absent.
func (c *call) intParam(name string, def int) (int, bool) {
	v := c.q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return n, true
}

// defaultLimit is used when a listing gets no limit: the CLI's default (our
// choice; the server's own default is undocumented).
const defaultLimit = 25

// offsetLimit reads offset/limit for the offset-paged endpoints.
func (c *call) offsetLimit() (offset, limit int, bad *response) {
	offset, ok1 := c.intParam("offset", 0)
	limit, ok2 := c.intParam("limit", defaultLimit)
	if !ok1 || !ok2 || offset < 0 || limit < 0 {
		r := errBadRequest("offset and limit must be non-negative integers")
		return 0, 0, &r
	}
	if limit == 0 {
		limit = defaultLimit
	}
	return offset, limit, nil
}

// window clips [offset, offset+limit) to n items.
func window(n, offset, limit int) (lo, hi int) {
	lo = min(offset, n)
	hi = min(lo+limit, n)
	return lo, hi
}

func ok(b []byte) response { return response{status: http.StatusOK, body: b} }
