package cfsim

import "fmt"

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
