package cfsim

import "fmt"

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
