package cfsim

// Count is how many records a full listing of a catalog resource returns
// (resource names as the catalog spells them; a few aliases are accepted).
// Detail resources count one record per parent, or per revision for
// context revisions. It panics on an unknown name: a test asked for a
// resource the simulator does not serve.
func (s *Server) Count(resource string) int {
	g := s.g
	s.mu.RLock()
	nb := len(s.builds)
	builds := s.builds
	s.mu.RUnlock()
	switch resource {
	case "builds", "builds_by_id", "build", "workflows", "progress", "build_progress":
		return nb
	case "pipelines", "pipelines_names", "pipeline", "pipeline_names":
		return len(g.pipelines)
	case "projects":
		return len(g.projects)
	case "images":
		return g.images
	case "step_types":
		return len(g.stepTypes)
	case "triggers", "hermes_triggers":
		return len(g.hermes)
	case "hermes_events", "events", "trigger_events":
		return len(g.events())
	case "user", "users_me", "current_user":
		return 1
	case "auth_keys", "api_keys", "tokens":
		return 3
	case "teams", "team":
		return len(teamNames)
	case "abac", "abac_rules", "permissions":
		return 5
	case "agents":
		return 2
	case "runtime_environments":
		return 3
	case "registries":
		return 2
	case "contexts":
		return len(contextList)
	case "annotations":
		n := 0
		for i := range builds {
			if g.annotated(uint64(i)) {
				n++
			}
		}
		return n
	case "audit":
		return g.auditEvents
	case "helm_repos":
		return 2
	case "clusters":
		return 2
	case "account_users", "users", "accounts_users":
		return len(g.users)
	case "hermes_types":
		return 2
	case "execution_contexts":
		return len(executionContexts)
	case "environments", "compositions":
		return 2
	case "repos":
		return len(g.projects)
	case "build_steps", "context_revisions", "build_context_revisions", "workflow_context_revisions":
		now := s.Now().UnixMilli()
		n := 0
		for i := range builds {
			n++
			if builds[i].status(now) != "pending" {
				n++
			}
		}
		return n
	case "workflow_data", "build_data", "workflow_data_items":
		now := s.Now().UnixMilli()
		n := 0
		for i := range builds {
			if builds[i].status(now) == "success" {
				n++
			}
		}
		return n
	}
	panic("cfsim: Count: unknown resource " + resource)
}
