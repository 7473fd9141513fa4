package cfsim

import "fmt"

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
