package cfsim

import (
	"fmt"
	"strings"
)

var auditActions = [][3]string{
	{"run", "pipeline", "/api/pipelines/run/%s"},
	{"update", "pipeline", "/api/pipelines/%s"},
	{"login", "user", "/api/auth/login"},
	{"create", "context", "/api/contexts"},
	{"terminate", "build", "/api/builds/terminate"},
}

// audit serves GET /audit: {"data":[...]} newest first, page (1-based) and
// limit (default 10, mongoose's). The envelope beyond data is unverified,
// so nothing else is sent.
func (c *call) audit() response {
	g := c.s.g
	page, ok1 := c.intParam("page", 1)
	limit, ok2 := c.intParam("limit", 10)
	if !ok1 || !ok2 || page < 1 || limit < 1 {
		return errBadRequest("page and limit must be positive integers")
	}
	n := g.auditEvents
	start := (page - 1) * limit
	var w jw
	w.open('{')
	w.key("data")
	w.open('[')
	for k := start; k < min(start+limit, n); k++ {
		i := n - 1 - k // newest first
		idx := uint64(i)
		u := &g.users[g.h(kAccount, idx, 30)%uint64(len(g.users))]
		act := auditActions[g.h(kAccount, idx, 31)%uint64(len(auditActions))]
		p := &simPipeline{id: g.accountID, name: g.accountName}
		if len(g.pipelines) > 0 {
			p = &g.pipelines[g.h(kAccount, idx, 32)%uint64(len(g.pipelines))]
		}
		at := g.auditEnd - int64(n-i)*37*60_000
		w.open('{')
		w.ki("id", int64(1000+i))
		w.kt("createdAt", at)
		w.ks("accountId", g.accountID)
		w.ks("userId", u.id)
		w.ks("userName", u.name)
		w.ks("userEmail", u.email)
		w.ks("action", act[0])
		w.ks("entity", act[1])
		w.ks("entityId", p.id)
		w.ks("entityName", p.name)
		w.ks("ip", fmt.Sprintf("203.0.113.%d", 1+i%250))
		reqURL := act[2]
		if strings.Contains(reqURL, "%s") {
			reqURL = fmt.Sprintf(reqURL, strings.ReplaceAll(p.name, "/", "%2F"))
		}
		w.ks("req_url", reqURL)
		w.ks("req_params", "{}")
		w.ks("req_query", "{}")
		w.ks("req_body", "{}")
		w.ks("res_body", "{}")
		w.ki("rs_status", 200)
		w.ks("correlationId", fmt.Sprintf("%012x", g.h(kAccount, idx, 33)>>16))
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return ok(w.b)
}
