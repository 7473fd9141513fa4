package codefresh

// The catalog: one entry per loadable endpoint. Paths, envelopes and paging
// come from shared/codefresh/API.md (sections 3 and 4); where public sources
// disagree on the envelope, AltSelectors lists the other shapes.
//
// Scopes follow the "<family>:read" form of Codefresh key scopes; "" means
// any valid key can read the endpoint.

const opDocs = "https://g.codefresh.io/api/#operation/"

// builds' exposedVariables hold {key,value} lists per origin; values may be secrets.
var buildSecrets = []string{"exposedVariables.*.value"}

// User objects: logins may carry a personal git token; account integrations
// may carry provider credentials.
var userSecrets = []string{"logins.*.personalGit.token", "account.*.integrations"}

var catalog = []Resource{
	// ---- seed resources (names as dlt users know them, real paths) ----
	{
		Name: "user", Path: "/user", DataSelector: "", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "",
		SecretFields:     userSecrets,
		WriteDisposition: Replace, Default: true,
		Description: "The user who owns the API key, with the accounts they belong to (activeAccountName tells which account the key reads). One object.",
		DocsURL:     opDocs + "users-get",
	},
	{
		Name: "projects", Path: "/projects", DataSelector: "projects", AltSelectors: []string{"$"},
		Paginator: PaginatorOffset, PageSize: 100,
		PrimaryKey: []string{"id"}, Scope: "project:read",
		WriteDisposition: Replace, Default: true,
		Description: "Projects: name, tags, variables (encrypted values come back as *****), pipeline count, updatedAt.",
		DocsURL:     opDocs + "projects-list",
	},
	{
		Name: "pipelines", Path: "/pipelines", DataSelector: "docs",
		Paginator: PaginatorOffset, PageSize: 100,
		PrimaryKey: []string{"metadata__id"}, Scope: "pipeline:read",
		KeyedObjects:     []string{"spec.steps"},
		WriteDisposition: Replace, Default: true,
		Description: "Pipelines with their full spec: git and cron triggers, variables, stages, steps (kept in YAML order as a list), runtime environment.",
		DocsURL:     opDocs + "pipelines-list",
	},
	{
		Name: "pipelines_names", Path: "/pipelines/names", DataSelector: "docs", AltSelectors: []string{"$"},
		Paginator: PaginatorOffset, PageSize: 100,
		PrimaryKey: []string{"metadata__id"}, Scope: "pipeline:read",
		WriteDisposition: Replace, Default: true,
		Description: "Slim pipeline list (id, name, project). Response shape unverified; envelope or bare array accepted.",
		DocsURL:     opDocs + "pipelines-get-names",
	},
	{
		Name: "builds", Path: "/workflow", DataSelector: "workflows.docs",
		Paginator: PaginatorPageCursor, Strategy: StrategyBuildWindows, PageSize: 100,
		PrimaryKey: []string{"id"}, IncrementalCursor: "created", Scope: "build:read",
		SecretFields:     buildSecrets,
		WriteDisposition: Merge, Default: true,
		Description: "Builds (workflows), newest first: status, timings (created/started/finished), pipeline, git branch/commit, trigger, annotations. Incremental on created; exposed variable values are dropped.",
		DocsURL:     opDocs + "workflows-list",
	},
	{
		Name: "builds_by_id", Path: "/builds/{id}", DataSelector: "", Paginator: PaginatorNone,
		PrimaryKey: []string{"id"}, Parent: "builds", ParentParam: "id", Strategy: StrategyPerParent, Scope: "build:read",
		SecretFields:     buildSecrets,
		Params:           map[string]string{"noAccount": "false"},
		WriteDisposition: Merge,
		Description:      "One build by id, read once per loaded build (refreshes builds that were still running). One object per build.",
		DocsURL:          opDocs + "workflows-get-build",
	},
	{
		Name: "images", Path: "/images", DataSelector: "docs", AltSelectors: []string{"$"},
		Paginator: PaginatorPageCursor, PageSize: 100,
		PrimaryKey: []string{"_id"}, Scope: "image:read",
		WriteDisposition: Replace, Default: true,
		Description: "Docker images built by Codefresh: name, tags, size, git sha and branch, metadata (e.g. CF_QUALITY).",
		DocsURL:     opDocs + "images-list",
	},
	{
		Name: "step_types", Path: "/step-types", DataSelector: "docs", AltSelectors: []string{"$"},
		Paginator: PaginatorOffset, PageSize: 100,
		PrimaryKey: []string{"metadata__id"}, Scope: "step-type:read",
		WriteDisposition: Replace, Default: true,
		Description: "Step types (marketplace and private typed steps): name, version, categories, arguments schema.",
		DocsURL:     opDocs + "steps-list",
	},
	{
		Name: "triggers", Path: "/hermes/triggers", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"event", "pipeline"}, Scope: "trigger:read",
		// endpoint is a webhook URL whose query carries the same secret.
		SecretFields:     []string{"event-data.secret", "event-data.endpoint"},
		WriteDisposition: Replace, Default: true,
		Description: "Event triggers (registry pushes, legacy cron, helm...) linking an event to a pipeline. Git and cron triggers are in pipelines.spec. Webhook secrets are dropped.",
		DocsURL:     opDocs + "triggers-list",
	},
	{
		Name: "auth_keys", Path: "/auth/keys", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "api-keys:read",
		// Codefresh returns only tokenPrefix; anything that looks like key
		// material is dropped in case a server ever sends it.
		SecretFields:     []string{"token", "key", "value", "secret", "accessToken"},
		WriteDisposition: Replace, Default: true,
		Description: "API keys of the user: name, tokenPrefix (never the key), scopes, created.",
		DocsURL:     opDocs + "tokens-list",
	},

	// ---- more read-only resources ----
	{
		Name: "build_steps", Path: "/workflow/{id}/context-revision", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"build_id", "name"}, Parent: "builds", ParentParam: "id", Strategy: StrategyPerParent, Scope: "build:read",
		KeyedObjects: []string{"context.stepsMetadata"},
		RowsFrom:     "context.stepsMetadata", ParentColumn: "build_id", OrderColumn: "step_order",
		WriteDisposition: Merge,
		Description:      "One row per step of each loaded build, from the last state revision's context.stepsMetadata: build_id, name, step_order, type, status, result, start/finish timestamps, totalTime. Read once per loaded build.",
	},
	{
		Name: "build_progress", Path: "/progress/{id}", DataSelector: "", Paginator: PaginatorNone,
		PrimaryKey: []string{"id"}, Parent: "builds", ParentParam: "id", ParentField: "progress", Strategy: StrategyPerParent, Scope: "build:read",
		// location.url is a temporary signed link to the build log.
		SecretFields:     []string{"location.url"},
		WriteDisposition: Merge,
		Description:      "Build log/progress record of each loaded build (status, log storage type). The signed log URL is dropped.",
		DocsURL:          opDocs + "progress-get",
	},
	{
		Name: "build_logs", Path: "/progress/{id}", DataSelector: "", Paginator: PaginatorNone,
		PrimaryKey: []string{"build_id", "step_order"}, Parent: "builds", ParentParam: "id", ParentField: "progress", Strategy: StrategyBuildLogs, Scope: "build:read",
		// location.url is a temporary signed link: a credential.
		SecretFields:     []string{"location.url"},
		WriteDisposition: Merge,
		Description:      "Log tail of chosen finished builds (default: error or terminated, newest 20 per pipeline): one row per build and step (build_id, progress_id, step_order, step_name, line_count, first_line), its last lines in build_logs__lines (value; line number = first_line + _dlt_list_idx), cut and secret-masked. Fetched from the signed log URL without the key.",
		DocsURL:          opDocs + "progress-get",
	},
	{
		Name: "teams", Path: "/team", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "team:read",
		WriteDisposition: Replace,
		Description:      "Teams of the account with their members and tags.",
		DocsURL:          opDocs + "teams-list",
	},
	{
		Name: "abac_rules", Path: "/abac", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"id"}, Scope: "abac:read",
		WriteDisposition: Replace,
		Description:      "Permission (ABAC) rules: team, resource, action, tag attributes.",
		DocsURL:          opDocs + "abac-rules-list",
	},
	{
		Name: "account_users", Path: "/accounts/{accountId}/users", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Parent: "user", ParentParam: "accountId", ParentField: ActiveAccountID, Strategy: StrategyPerParent,
		Scope:            "account:read",
		SecretFields:     []string{"logins.*.personalGit.token"},
		WriteDisposition: Replace,
		Description:      "Users of the key's active account: user name, email, roles, status, last login.",
		DocsURL:          opDocs + "accounts-get-users-for-account",
	},
	{
		Name: "agents", Path: "/agents", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"id"}, Scope: "agent:read",
		WriteDisposition: Replace,
		Description:      "Runners (agents): name, runtimes, health status.",
		DocsURL:          opDocs + "agents-byName",
	},
	{
		Name: "runtime_environments", Path: "/runtime-environments", DataSelector: "$", AltSelectors: []string{"docs"},
		Paginator: PaginatorOffset, PageSize: 100,
		PrimaryKey: []string{"metadata__name"}, Scope: "runtime-environment:read",
		WriteDisposition: Replace,
		Description:      "Runtime environments where builds run: cluster, namespace, scheduler settings, default flag.",
		DocsURL:          opDocs + "runtime-envs-list",
	},
	{
		Name: "registries", Path: "/registries", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "registry:read",
		SecretFields: []string{"username", "password", "token", "keyfile", "keyfilePath", "accessKeyId",
			"secretAccessKey", "clientId", "clientSecret", "credentials", "auth"},
		WriteDisposition: Replace,
		Description:      "Docker registry integrations: name, kind, provider, domain, default/primary. Credentials are dropped.",
		DocsURL:          opDocs + "registries-list",
	},
	{
		Name: "contexts", Path: "/contexts", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"metadata__name"}, Scope: "context:read",
		// Never decrypted (CheckRequest refuses decrypt); spec.data may still hold
		// plain config or masked secrets, so it is dropped whole.
		SecretFields:     []string{"spec.data"},
		WriteDisposition: Replace,
		Description:      "Shared configuration and integration contexts: name, type, owner. Their data is never read.",
		DocsURL:          opDocs + "contexts-list",
	},
	{
		Name: "annotations", Path: "/annotations", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "annotation:read",
		WriteDisposition: Replace,
		Description:      "Annotations (key/value) attached to builds, pipelines and images.",
		DocsURL:          opDocs + "annotations-list",
	},
	{
		Name: "audit", Path: "/audit", DataSelector: "data", AltSelectors: []string{"docs", "$"},
		Paginator: PaginatorPage, PageSize: 100,
		PrimaryKey: []string{"id"}, Scope: "audit:read",
		// Request and response bodies can contain secrets sent to the API.
		SecretFields:     []string{"req_body", "res_body"},
		WriteDisposition: Merge,
		Description:      "Audit log: who did what (action, entity, user, IP, status) and when. Request/response bodies are dropped. Envelope beyond data unverified.",
	},
	{
		Name: "helm_repos", Path: "/helm/repos", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"name"}, Scope: "helm:read",
		WriteDisposition: Replace,
		Description:      "Helm chart repositories integrated with the account.",
		DocsURL:          opDocs + "helm-repos-list",
	},
	{
		Name: "clusters", Path: "/clusters", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "cluster:read",
		SecretFields:     []string{"credentials", "auth"},
		WriteDisposition: Replace,
		Description:      "Kubernetes cluster integrations: selector, provider, behind-firewall flag. Credentials are never read.",
		DocsURL:          opDocs + "clusters-list",
	},
	{
		Name: "hermes_events", Path: "/hermes/events", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"uri"}, Scope: "trigger:read",
		SecretFields:     []string{"secret", "endpoint"},
		WriteDisposition: Replace,
		Description:      "Trigger events known to the account (uri, type, kind, status). Secrets and webhook endpoints are dropped.",
		DocsURL:          opDocs + "triggers-events-list",
	},
	{
		Name: "hermes_types", Path: "/hermes/types", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"type", "kind"}, Scope: "trigger:read",
		WriteDisposition: Replace,
		Description:      "Trigger event types (registry, cron, helm...) with their config and filters.",
		DocsURL:          opDocs + "triggers-types-list",
	}, {
		Name: "execution_contexts", Path: "/execution-contexts", DataSelector: "docs", AltSelectors: []string{"$"},
		Paginator: PaginatorPage, PageSize: 100,
		PrimaryKey: []string{"_id"}, Scope: "execution-context:read",
		WriteDisposition: Replace,
		Description:      "Pipeline execution contexts (identities pipelines run API calls as): name, tags, default flag.",
	}, {
		Name: "environments", Path: "/environments", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "environment:read",
		WriteDisposition: Replace,
		Description:      "Legacy composition environments and their service instances.",
		DocsURL:          opDocs + "envs-list",
	}, {
		Name: "compositions", Path: "/compositions", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"_id"}, Scope: "composition:read",
		WriteDisposition: Replace,
		Description:      "Docker compositions defined in the account.",
		DocsURL:          opDocs + "compositions-list",
	}, {
		Name: "repos", Path: "/repos/existing", DataSelector: "$", Paginator: PaginatorNone,
		PrimaryKey: []string{"service_name"}, Scope: "repos:read",
		WriteDisposition: Replace,
		Description:      "Git repositories added to Codefresh: provider, owner, name.",
		DocsURL:          opDocs + "repos-list",
	}}
