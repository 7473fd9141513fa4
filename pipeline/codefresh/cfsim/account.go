package cfsim

import (
	"fmt"
	"strings"
)

// The account-level endpoints: mostly bare arrays, unpaginated (API.md §4).

// user serves GET /user: the key's owner (user 0) with the account list.
func (c *call) user() response {
	g := c.s.g
	u := &g.users[0]
	var w jw
	w.open('{')
	w.ks("_id", u.id)
	w.ks("userName", u.name)
	w.ks("email", u.email)
	w.kss("roles", "User", "Admin")
	w.ks("status", "activated")
	w.kt("register_date", u.registered)
	w.ki("defaultAccount", 0)
	w.ks("activeAccountName", g.accountName)
	w.key("user_data")
	w.open('{')
	w.ks("image", u.avatar)
	w.ks("name", u.full)
	w.ks("email", u.email)
	w.close('}')
	w.key("shortProfile")
	w.open('{')
	w.ks("userName", u.name)
	w.close('}')
	w.key("account")
	w.open('[')
	c.appendAccount(&w, g.accountID, g.accountName, []string{u.id}, u.registered)
	sandbox := g.oid(kAccount, 2, u.registered/1000+86400)
	c.appendAccount(&w, sandbox, g.accountName+"-sandbox", nil, u.registered+day)
	w.close(']')
	w.close('}')
	return ok(w.b)
}

func (c *call) appendAccount(w *jw, id, name string, admins []string, created int64) {
	w.open('{')
	w.ks("_id", id)
	w.ks("id", id)
	w.ks("name", name)
	w.kss("admins", admins...)
	w.ks("runtimeEnvironment", "system/default")
	w.key("features")
	w.open('{')
	w.kb("forbidDecrypt", false)
	w.close('}')
	w.kt("createdAt", created)
	w.kt("updatedAt", created+30*day)
	w.close('}')
}

// hermesTriggers serves GET /hermes/triggers (and .../pipeline/{id}): bare
// array of {event,pipeline,filters,"event-data"}. event-data.secret is the
// webhook secret, and the nomios endpoint URL repeats it, as in Codefresh.
func (c *call) hermesTriggers() response {
	g := c.s.g
	pipe := c.params["id"]
	var w jw
	w.open('[')
	for i := range g.hermes {
		h := &g.hermes[i]
		if pipe != "" && h.pipelineID != pipe {
			continue
		}
		w.open('{')
		w.ks("event", h.event)
		w.ks("pipeline", h.pipelineID)
		w.key("filters")
		w.open('{')
		if h.filter != "" {
			w.ks("tag", h.filter)
		}
		w.close('}')
		w.key("event-data")
		appendEvent(&w, h)
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

func appendEvent(w *jw, h *simHermes) {
	w.open('{')
	w.ks("uri", h.event)
	w.ks("type", h.typ)
	w.ks("kind", h.kind)
	w.ks("account", h.account)
	w.ks("secret", h.secret)
	if h.typ == "registry" {
		w.ks("endpoint", fmt.Sprintf("https://g.codefresh.io/nomios/%s?account=%s&secret=%s", h.kind, h.account, h.secret))
	} else {
		w.ks("endpoint", "")
	}
	w.ks("description", h.desc)
	w.ks("status", "active")
	w.ks("help", "")
	w.close('}')
}

// hermesEvents serves GET /hermes/events?type=&kind=: the events the
// triggers listen to.
func (c *call) hermesEvents() response {
	g := c.s.g
	typ, kind := c.q.Get("type"), c.q.Get("kind")
	var w jw
	w.open('[')
	for _, h := range g.events() {
		if (typ != "" && h.typ != typ) || (kind != "" && h.kind != kind) {
			continue
		}
		appendEvent(&w, h)
	}
	w.close(']')
	return ok(w.b)
}

// events are the distinct events the triggers listen to, first trigger
// first: triggers of several pipelines may share one, and Hermes lists it once.
func (g *gen) events() []*simHermes {
	seen := map[string]bool{}
	var out []*simHermes
	for i := range g.hermes {
		if h := &g.hermes[i]; !seen[h.event] {
			seen[h.event] = true
			out = append(out, h)
		}
	}
	return out
}

// authKeys serves GET /auth/keys: key metadata only; tokenPrefix is random,
// never derived from the configured key.
func (c *call) authKeys() response {
	g := c.s.g
	owner := g.users[0].id
	keys := []struct {
		name   string
		scopes []string
	}{
		{"loader-readonly", []string{"build:read", "pipeline:read", "project:read"}},
		{"ci-bot", []string{"build", "pipeline"}},
		{"admin-full", nil},
	}
	var w jw
	w.open('[')
	for i, k := range keys {
		created := g.users[0].registered + int64(i+1)*40*day
		id := g.oid(kKey, uint64(i), created/1000)
		w.open('{')
		w.ks("_id", id)
		w.ks("name", k.name)
		w.ks("tokenPrefix", fmt.Sprintf("%09x", g.h(kKey, uint64(i), 1)>>28))
		w.kt("created", created)
		if k.scopes != nil {
			w.kss("scopes", k.scopes...)
		}
		w.key("subject")
		w.open('{')
		w.ks("type", "user")
		w.ks("ref", owner)
		w.close('}')
		if k.scopes != nil {
			w.key("scopeSnapshot")
			w.open('{')
			w.ks("_id", g.oid(kKey, uint64(i)+100, created/1000))
			w.kss("scopes", k.scopes...)
			w.kt("date", created)
			w.ki("__v", 0)
			w.close('}')
		}
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

var teamNames = []string{"users", "admins", "developers"}

func (g *gen) teamID(i int) string { return g.oid(kTeam, uint64(i), g.users[0].registered/1000) }

// teams serves GET /team.
func (c *call) teams() response {
	g := c.s.g
	var w jw
	w.open('[')
	for t, name := range teamNames {
		w.open('{')
		w.ks("_id", g.teamID(t))
		w.ks("name", name)
		typ := "custom"
		if t == 0 {
			typ = "default"
		}
		w.ks("type", typ)
		w.ks("account", g.accountID)
		w.kss("tags")
		w.key("users")
		w.open('[')
		for i := range g.users {
			if t == 1 && i > 0 || t == 2 && i%2 == 0 {
				continue
			}
			u := &g.users[i]
			w.open('{')
			w.ks("_id", u.id)
			w.ks("userName", u.name)
			w.ks("email", u.email)
			w.close('}')
		}
		w.close(']')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

// abac serves GET /abac: permission rules per team.
func (c *call) abac() response {
	g := c.s.g
	rules := []struct {
		team             int
		resource, action string
		attrs            []string
	}{
		{2, "pipeline", "run", []string{"team-a"}},
		{2, "pipeline", "read", nil},
		{1, "pipeline", "update", nil},
		{2, "project", "read", nil},
		{1, "cluster", "update", []string{"prod"}},
	}
	var w jw
	w.open('[')
	for i, r := range rules {
		w.open('{')
		w.ks("id", g.oid(kAbac, uint64(i), g.users[0].registered/1000+int64(i)))
		w.ks("role", g.teamID(r.team))
		w.ks("resource", r.resource)
		w.ks("action", r.action)
		w.ks("account", g.accountID)
		w.kss("attributes", r.attrs...)
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}

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

// simContext is one Codefresh context (shared configuration).
type simContext struct {
	name, typ   string
	def, system bool
}

var contextList = []simContext{
	{"github", "git.github", true, false},
	{"prod-secrets", "secret", false, false},
	{"app-config", "config", false, false},
	{"helm-repo", "helm-repository", false, false},
	{"s3-logs", "storage.s3", false, false},
}

// contexts serves GET /contexts?type=&decrypt=. Without decrypt, encrypted
// values come back as "*****"; plain config values come back as stored
// (here a password a user put in a config context). decrypt=true reveals
// the encrypted ones: a loader must never send it.
func (c *call) contexts() response {
	types := c.q["type"]
	decrypt := c.q.Get("decrypt") == "true"
	var w jw
	w.open('[')
	for i := range contextList {
		if len(types) > 0 && !contains(types, contextList[i].typ) {
			continue
		}
		c.appendContext(&w, i, decrypt)
	}
	w.close(']')
	return ok(w.b)
}

// contextGet serves GET /contexts/{name}?decrypt=.
func (c *call) contextGet() response {
	for i := range contextList {
		if contextList[i].name == c.params["name"] {
			var w jw
			c.appendContext(&w, i, c.q.Get("decrypt") == "true")
			return ok(w.b)
		}
	}
	return errNotFound(fmt.Sprintf("Context %s not found", c.params["name"]))
}

func (c *call) appendContext(w *jw, i int, decrypt bool) {
	g := c.s.g
	ctx := &contextList[i]
	enc := func(field uint64) string {
		if decrypt {
			return g.secretValue(kAccount, uint64(i), field)
		}
		return "*****"
	}
	w.open('{')
	w.ks("apiVersion", "v1")
	w.ks("kind", "context")
	w.ks("owner", "account")
	w.key("metadata")
	w.open('{')
	w.ks("name", ctx.name)
	if ctx.def || ctx.system {
		w.kb("default", ctx.def)
		w.kb("system", ctx.system)
	}
	w.close('}')
	w.key("spec")
	w.open('{')
	w.ks("type", ctx.typ)
	w.key("data")
	w.open('{')
	switch ctx.typ {
	case "git.github":
		w.ks("sharingPolicy", "AccountAdmins")
		w.key("auth")
		w.open('{')
		w.ks("type", "basic")
		w.ks("password", enc(1))
		w.ks("apiHost", "api.github.com")
		w.close('}')
	case "secret":
		w.ks("API_TOKEN", enc(2))
		w.ks("DB_PASSWORD", enc(3))
	case "config":
		w.ks("LOG_LEVEL", "info")
		w.ks("DB_HOST", "db.internal.example.com")
		w.ks("DB_PASSWORD", g.secretValue(kAccount, uint64(i), 4))
	case "helm-repository":
		w.ks("repositoryUrl", "https://charts.example.com")
		w.ks("HELMREPO_PASSWORD", enc(5))
	case "storage.s3":
		w.key("auth")
		w.open('{')
		w.ks("type", "basic")
		w.ks("jsonConfig", enc(6))
		w.close('}')
	}
	w.close('}')
	w.close('}')
	w.close('}')
}

// annotations serves GET /annotations?entityId=&entityType=&key=&id=: the
// annotations on builds (the same ones builds carry in annotations[]).
func (c *call) annotations() response {
	s := c.s
	g := s.g
	entityID, entityType, key, id := c.q.Get("entityId"), c.q.Get("entityType"), c.q.Get("key"), c.q.Get("id")
	if (entityType != "" && entityType != "build") || (key != "" && key != "jira") {
		return ok([]byte("[]"))
	}
	s.mu.RLock()
	builds := s.builds
	s.mu.RUnlock()
	var w jw
	w.open('[')
	emit := func(i int) {
		b := &builds[i]
		if !g.annotated(uint64(i)) {
			return
		}
		aid := g.oid(kAnnotation, uint64(i), b.created/1000)
		if id != "" && id != aid {
			return
		}
		bid := g.oid(kBuild, uint64(i), b.created/1000)
		w.open('{')
		w.ks("_id", aid)
		w.ks("accountId", g.accountID)
		w.ks("entityId", bid)
		w.ks("entityType", "build")
		w.ks("entityName", bid)
		w.ks("key", "jira")
		w.ks("value", fmt.Sprintf("ACME-%d", 100+g.h(kAnnotation, uint64(i), 1)%900))
		w.ki("__v", 0)
		w.close('}')
	}
	switch {
	case entityID != "":
		s.mu.RLock()
		i, found := s.buildIndex(entityID)
		s.mu.RUnlock()
		if found {
			emit(i)
		}
	case id != "":
		if i, found := g.decodeOID(id, kAnnotation); found && i < uint64(len(builds)) {
			emit(int(i))
		}
	default:
		for i := range builds {
			emit(i)
		}
	}
	w.close(']')
	return ok(w.b)
}

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

// accountUsers serves GET /accounts/{id}/users for the key's account.
func (c *call) accountUsers() response {
	g := c.s.g
	if c.params["id"] != g.accountID {
		return errNotFound(fmt.Sprintf("Could not find account: %s", c.params["id"]))
	}
	var w jw
	w.open('[')
	for i := range g.users {
		u := &g.users[i]
		w.open('{')
		w.ks("_id", u.id)
		w.ks("userName", u.name)
		w.ks("email", u.email)
		w.ks("notificationEmail", u.email)
		if i == 0 {
			w.kss("roles", "User", "Admin")
		} else {
			w.kss("roles", "User")
		}
		w.ki("defaultAccount", 0)
		w.kss("account", g.accountID)
		w.ks("status", "activated")
		w.key("user_data")
		w.open('{')
		w.kss("emails", u.email)
		w.ks("email", u.email)
		w.ks("image", u.avatar)
		w.ks("name", u.full)
		w.close('}')
		w.kt("register_date", u.registered)
		w.kt("last_login_date", g.auditEnd-int64(g.h(kUser, uint64(i), 9)%uint64(20*day)))
		w.kb("hasPassword", false)
		w.key("notifications")
		w.open('[')
		w.open('{')
		w.kempty("events")
		w.ks("type", "mail")
		w.close('}')
		w.close(']')
		w.key("shortProfile")
		w.open('{')
		w.ks("userName", u.name)
		w.close('}')
		w.key("settings")
		w.open('{')
		w.kb("sendWeeklyReport", i%2 == 0)
		w.kb("allowAdminToLogin", true)
		w.kb("filterInaccessibleKubernetes", true)
		w.close('}')
		w.key("logins")
		w.open('[')
		w.open('{')
		w.ks("userId", fmt.Sprint(1000000+g.h(kUser, uint64(i), 10)%9000000))
		w.ks("userName", u.name)
		w.kb("personalGit", false)
		w.kempty("permissions")
		w.key("idp")
		w.open('{')
		w.ks("id", g.oid(kAccount, 50, u.registered/1000))
		w.close('}')
		w.close('}')
		w.close(']')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}
