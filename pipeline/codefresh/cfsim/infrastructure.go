package cfsim

import (
	"fmt"
	"strings"
)

// agents serves GET /agents?name=.
func (c *call) agents() response {
	g := c.s.g
	name := c.q.Get("name")
	var w jw
	w.open('[')
	for i, a := range []string{"prod-runner", "staging-runner"} {
		if name != "" && name != a {
			continue
		}
		cluster := strings.TrimSuffix(a, "-runner") + "-cluster"
		w.open('{')
		w.ks("id", g.oid(kAgent, uint64(i), g.users[0].registered/1000))
		w.ks("name", a)
		w.ks("account", g.accountID)
		w.kss("runtimes", cluster+"/codefresh")
		w.ks("tokenName", "generated-"+a)
		w.key("status")
		w.open('{')
		health := "healthy"
		if i == 1 {
			health = "unhealthy"
		}
		w.ks("healthStatus", health)
		w.ks("message", "")
		w.kt("reportedAt", g.auditEnd-int64(i+1)*60_000)
		w.close('}')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// runtimeEnvs serves GET /runtime-environments: bare array, offset/limit.
func (c *call) runtimeEnvs() response {
	offset, limit, bad := c.offsetLimit()
	if bad != nil {
		return *bad
	}
	g := c.s.g
	names := []string{"prod-cluster/codefresh", "staging-cluster/codefresh", "system/default"}
	lo, hi := window(len(names), offset, limit)
	var w jw
	w.open('[')
	for i := lo; i < hi; i++ {
		name := names[i]
		selector, _, _ := strings.Cut(name, "/")
		w.open('{')
		w.ki("version", int64(2+i))
		w.key("metadata")
		w.open('{')
		w.ks("name", name)
		w.kb("agent", i < 2)
		w.ks("changedBy", g.users[0].name)
		w.ks("creationTime", fmt.Sprintf("2023/0%d/01 10:00:00", i+1))
		w.close('}')
		w.kss("extends", "system/default/hybrid/k8s_low_limits")
		w.ks("description", "Runtime environment configure to cluster")
		w.ks("accountId", g.accountID)
		for _, k := range []string{"runtimeScheduler", "dockerDaemonScheduler"} {
			w.key(k)
			w.open('{')
			w.key("cluster")
			w.open('{')
			w.key("clusterProvider")
			w.open('{')
			w.ks("accountId", g.accountID)
			w.ks("selector", selector)
			w.close('}')
			w.ks("namespace", "codefresh")
			w.close('}')
			w.close('}')
		}
		w.key("status")
		w.open('{')
		w.ks("message", "")
		w.kt("updated_at", g.auditEnd-int64(i+1)*day)
		w.close('}')
		w.kb("isPublic", i == 2)
		w.kb("isDefault", i == 0)
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// registries serves GET /registries (credential fields are not sent).
func (c *call) registries() response {
	g := c.s.g
	regs := [][4]string{{"dockerhub", "dockerhub", "docker.io", ""}, {"acme-ecr", "ecr", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "acme"}}
	var w jw
	w.open('[')
	for i, r := range regs {
		w.open('{')
		w.ks("_id", g.oid(kRegistry, uint64(i), g.users[0].registered/1000))
		w.ks("name", r[0])
		w.ks("kind", "standard")
		w.ks("provider", r[1])
		w.ks("domain", r[2])
		w.kb("default", i == 0)
		w.kb("primary", i == 0)
		w.kb("internal", false)
		w.kb("behindFirewall", i == 1)
		w.ks("repositoryPrefix", r[3])
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// helmRepos serves GET /helm/repos: Go-style capitalised fields, RFC 3339
// times without milliseconds, as the helm service sends them.
func (c *call) helmRepos() response {
	var w jw
	w.open('[')
	for i, name := range []string{"acme-charts", "bitnami-mirror"} {
		w.open('{')
		w.ks("Name", name)
		w.kb("Public", i == 1)
		w.ks("CreatedAt", fmt.Sprintf("202%d-01-01T00:00:00Z", 2+i))
		w.ks("UpdatedAt", "2024-01-01T00:00:00Z")
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// clusters serves GET /clusters.
func (c *call) clusters() response {
	g := c.s.g
	var w jw
	w.open('[')
	for i, sel := range []string{"prod-cluster", "staging-cluster"} {
		w.open('{')
		w.ks("_id", g.oid(kCluster, uint64(i), g.users[0].registered/1000))
		w.ks("selector", sel)
		w.ks("provider", "local")
		w.ks("providerAgent", "custom")
		w.kb("behindFirewall", i == 0)
		w.key("cluster")
		w.open('{')
		w.ks("name", sel)
		w.close('}')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}
