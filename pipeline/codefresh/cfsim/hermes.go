package cfsim

import "fmt"

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

// hermesTypes serves GET /hermes/types: the event types of the triggers
// (hermes pkg/model/type.go field names).
func (c *call) hermesTypes() response {
	var w jw
	w.open('[')
	for _, t := range [][4]string{
		{"registry", "dockerhub", "registry:dockerhub:{{namespace}}:{{name}}:push:{{account}}", "Docker Hub image push"},
		{"cron", "codefresh", "cron:codefresh:{{expression}}:{{message}}:{{account}}", "Cron timer"},
	} {
		w.open('{')
		w.ks("type", t[0])
		w.ks("kind", t[1])
		w.ks("service-url", "http://"+t[0]+"-"+t[1]+":8080")
		w.ks("uri-template", t[2])
		w.ks("uri-regex", "^"+t[0]+":"+t[1]+":.+$")
		w.ks("help-url", "https://codefresh.io/docs/docs/pipelines/triggers/")
		w.key("config")
		w.open('[')
		w.open('{')
		w.ks("name", "account")
		w.ks("type", "string")
		w.ks("help", "account id")
		w.kb("required", true)
		w.close('}')
		w.close(']')
		w.key("filters")
		w.open('[')
		w.open('{')
		w.ks("name", "tag")
		w.ks("type", "string")
		w.ks("help", "a regular expression the "+t[3]+" must match")
		w.close('}')
		w.close(']')
		w.close('}')
	}
	w.close(']')
	return ok(w.b)
}
