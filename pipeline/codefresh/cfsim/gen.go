package cfsim

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Entity kinds: they salt the hashes and sit in generated ObjectIds so an id
// can be decoded back to (kind, index) without an index map.
const (
	kAccount uint64 = iota + 1
	kUser
	kProject
	kPipeline
	kBuild
	kProgress
	kImage
	kImageTag
	kStepType
	kGitTrigger
	kCronTrigger
	kKey
	kTeam
	kAbac
	kAgent
	kRegistry
	kCluster
	kAnnotation
	kRevision
	kTermination
	kSystemEvent
	kDataItem
	kRuntime
)

// maxIndex is the largest index an ObjectId's 3-byte counter can carry.
const maxIndex = 1<<24 - 1

// mix is the splitmix64 finalizer: a fast, well-distributed hash of a uint64.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// h derives the deterministic random value for (kind, index, field).
func (g *gen) h(kind, idx, field uint64) uint64 {
	return mix(g.seed ^ mix(kind<<56^idx) ^ mix(field+0x51ed27))
}

// pick chooses an element by hash.
func pick(v uint64, list []string) string { return list[v%uint64(len(list))] }

// frac maps a hash to [0,1).
func frac(v uint64) float64 { return float64(v>>11) / (1 << 53) }

// gen holds the synthetic world that is fixed at New: the small collections
// are built once; builds are compact structs; everything else is derived
// from (seed, kind, index) when rendered.
type gen struct {
	seed     uint64
	yamlSize int

	accountID   string
	accountName string
	users       []simUser
	projects    []simProject
	pipelines   []simPipeline
	pipeByID    map[string]int
	pipeByName  map[string]int
	projByID    map[string]int
	images      int
	imgStart    int64 // ms; images spread over [imgStart, imgEnd]
	imgEnd      int64
	stepTypes   []simStepType
	auditEvents int
	auditEnd    int64
	hermes      []simHermes
}

type simUser struct {
	id, name, email, full, avatar string
	registered                    int64
}

type simProject struct {
	id, name  string
	tags      []string
	favorite  bool
	pipelines int
	created   int64
	updated   int64
}

type simPipeline struct {
	id, name, short, project string
	projectIdx               int
	repo                     string // repo name under repoOwner
	steps                    []string
	created, updated         int64
	revision                 int
	tags                     []string
	gitTriggerID             string // "" when the pipeline has no git trigger
	cronTriggerID            string // "" when no cron trigger
	meanRun                  int64  // typical run time, ms
	// Pre-rendered JSON fragments and strings, shared by every build.
	buildFrag []byte // "pipelineName":..."provider":"github"
	userYAML  []byte // JSON string (quoted) of the user's YAML
	finalYAML []byte // JSON string (quoted) of the final YAML
	yaml      string
}

type simStepType struct {
	name, id, category, stage string
	official, public          bool
	created, updated          int64
	finished                  int64
}

type simHermes struct {
	event, pipelineID, secret, typ, kind, account, desc, filter string
}

const repoOwner = "acme"

var (
	projectNames  = []string{"backend", "frontend", "infra", "data", "mobile", "payments", "search", "auth", "platform", "docs"}
	pipelineNames = []string{"build", "deploy", "test", "release", "nightly", "lint", "e2e", "security-scan", "promote", "cleanup"}
	userNames     = []string{"jdoe", "asmith", "bwong", "cgarcia", "dpatel", "ekim", "fmuller", "grossi", "hnakamura", "iolsen"}
	fullNames     = []string{"Jane Doe", "Alex Smith", "Bo Wong", "Carla Garcia", "Dev Patel", "Eun Kim", "Frank Muller", "Gina Rossi", "Hiro Nakamura", "Ida Olsen"}
	branches      = []string{"main", "main", "main", "main", "main", "develop", "develop", "release/1.4", "feature/login", "feature/cache", "feature/retry-logic", "fix/nil-pointer", "fix/timeout", "renovate/go-1.x", "dependabot/npm/lodash-4.17.21", "feature/ui-refresh"}
	branchSet     = dedupe(branches)
	commitMsgs    = []string{"fix: handle nil", "feat: add retry with backoff", "chore(deps): bump lodash", "refactor: split handler", "docs: update README", "test: cover edge cases", "fix: race in cache warmup", "feat(api): paginate results", "ci: cache go modules", "Merge pull request #412 from acme/feature/login"}
	stepCatalog   = []string{"clone", "build", "unit_test", "lint", "push", "integration_test", "security_scan", "deploy", "notify"}
	stepTypeOf    = map[string]string{"clone": "git-clone", "build": "build", "push": "push", "deploy": "helm", "notify": "slack-notifier"}
	stepTypeNames = []string{"git-clone", "build", "push", "freestyle", "composition", "helm", "kubernetes", "slack-notifier", "jira-issue-manager", "vault", "sonar-scanner-cli", "sonar-quality-gates-checker", "aws-s3", "gcs", "trivy-scan", "snyk-cli", "argocd-sync", "github-release", "github-pr-comment", "terraform", "kaniko", "cosign", "docker-scan", "email", "pagerduty", "datadog-event", "codecov-reporter", "jfrog-cli", "npm-publish", "gradle"}
	stepCategory  = []string{"featured", "build", "deployment", "notifications", "security", "testing", "git", "kubernetes"}
)

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// oid renders a Mongo ObjectId: 4-byte seconds, 5 bytes fixed per (seed,
// kind) as Mongo's per-process random, 3-byte counter = index.
func (g *gen) appendOID(b []byte, kind, idx uint64, sec int64) []byte {
	r := g.h(kind, 0, 0xface)
	var raw [12]byte
	u := uint32(sec)
	raw[0], raw[1], raw[2], raw[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
	raw[4], raw[5], raw[6], raw[7], raw[8] = byte(r>>32), byte(r>>24), byte(r>>16), byte(r>>8), byte(r)
	raw[9], raw[10], raw[11] = byte(idx>>16), byte(idx>>8), byte(idx)
	for _, c := range raw {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

func (g *gen) oid(kind, idx uint64, sec int64) string {
	return string(g.appendOID(make([]byte, 0, 24), kind, idx, sec))
}

// decodeOID returns the index an id of the given kind carries; the caller
// re-renders the id from that index to confirm it.
func (g *gen) decodeOID(id string, kind uint64) (uint64, bool) {
	if len(id) != 24 {
		return 0, false
	}
	var raw [12]byte
	for i := 0; i < 12; i++ {
		hi, ok1 := unhex(id[2*i])
		lo, ok2 := unhex(id[2*i+1])
		if !ok1 || !ok2 {
			return 0, false
		}
		raw[i] = hi<<4 | lo
	}
	r := g.h(kind, 0, 0xface)
	if raw[4] != byte(r>>32) || raw[5] != byte(r>>24) || raw[6] != byte(r>>16) || raw[7] != byte(r>>8) || raw[8] != byte(r) {
		return 0, false
	}
	return uint64(raw[9])<<16 | uint64(raw[10])<<8 | uint64(raw[11]), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendHex writes n hex digits derived from (kind, idx): git shas (40),
// container ids (64).
func (g *gen) appendHex(b []byte, kind, idx uint64, n int) []byte {
	for f := uint64(0); n > 0; f++ {
		v := g.h(kind, idx, 0x5a+f)
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, hexDigits[v>>60])
			v <<= 4
			n--
		}
	}
	return b
}

func (g *gen) appendSHA(b []byte, kind, idx uint64) []byte { return g.appendHex(b, kind, idx, 40) }

// secretValue is a value Codefresh would hand out in clear (webhook secrets,
// plain context values, exposed variables): marked so tests can prove a
// loader drops it.
func (g *gen) secretValue(kind, idx, field uint64) string {
	return fmt.Sprintf("%s-%016x", SecretMarker, g.h(kind, idx, field))
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// newGen builds the fixed collections.
func newGen(cfg *Config, now int64) *gen {
	g := &gen{seed: mix(uint64(cfg.Seed)), yamlSize: cfg.YAMLSize}
	start := now - cfg.History.Milliseconds()
	g.accountName = "acme"
	g.accountID = g.oid(kAccount, 1, (start-400*day)/1000)

	nu := cfg.Users
	for i := 0; i < nu; i++ {
		name := userNames[i%len(userNames)]
		full := fullNames[i%len(fullNames)]
		if i >= len(userNames) {
			name = fmt.Sprintf("%s%d", name, i/len(userNames))
		}
		reg := start - 300*day + int64(g.h(kUser, uint64(i), 1)%uint64(200*day))
		g.users = append(g.users, simUser{
			id: g.oid(kUser, uint64(i), reg/1000), name: name, full: full,
			email: name + "@example.com", avatar: avatarBase + name + ".png", registered: reg,
		})
	}

	g.projByID = map[string]int{}
	for i := 0; i < cfg.Projects; i++ {
		name := projectNames[i%len(projectNames)]
		if i >= len(projectNames) {
			name = fmt.Sprintf("%s-%d", name, i/len(projectNames))
		}
		created := start - 200*day + int64(g.h(kProject, uint64(i), 1)%uint64(100*day))
		p := simProject{
			id: g.oid(kProject, uint64(i), created/1000), name: name, created: created,
			updated:  now - int64(g.h(kProject, uint64(i), 2)%uint64(60*day)),
			favorite: g.h(kProject, uint64(i), 3)%4 == 0,
		}
		if g.h(kProject, uint64(i), 4)%2 == 0 {
			p.tags = []string{"team-" + string(rune('a'+i%5))}
		}
		g.projByID[p.id] = i
		g.projects = append(g.projects, p)
	}

	g.pipeByID = map[string]int{}
	g.pipeByName = map[string]int{}
	for i := 0; i < cfg.Pipelines; i++ {
		pi := i % cfg.Projects
		proj := &g.projects[pi]
		n := i / cfg.Projects
		short := pipelineNames[n%len(pipelineNames)]
		if n >= len(pipelineNames) {
			short = fmt.Sprintf("%s-%d", short, n/len(pipelineNames))
		}
		created := proj.created + int64(g.h(kPipeline, uint64(i), 1)%uint64(60*day))
		p := simPipeline{
			id: g.oid(kPipeline, uint64(i), created/1000), short: short, project: proj.name,
			name: proj.name + "/" + short, projectIdx: pi, created: created,
			updated:  now - int64(g.h(kPipeline, uint64(i), 2)%uint64(30*day)),
			revision: int(g.h(kPipeline, uint64(i), 3) % 12),
			repo:     proj.name,
			meanRun:  int64(2*time.Minute/time.Millisecond) + int64(g.h(kPipeline, uint64(i), 4)%uint64(13*time.Minute/time.Millisecond)),
		}
		if i%3 != 1 {
			p.tags = []string{"team-" + string(rune('a'+i%5))}
		}
		if g.h(kPipeline, uint64(i), 6)%5 != 0 {
			p.gitTriggerID = g.oid(kGitTrigger, uint64(i), created/1000)
		}
		if g.h(kPipeline, uint64(i), 7)%5 == 0 {
			p.cronTriggerID = g.oid(kCronTrigger, uint64(i), created/1000)
		}
		p.steps = []string{"clone", "build"}
		for _, st := range stepCatalog[2:] {
			if g.h(kPipeline, uint64(i), uint64(len(st))*31+uint64(st[0]))%2 == 0 {
				p.steps = append(p.steps, st)
			}
		}
		proj.pipelines++
		g.pipeByID[p.id] = i
		g.pipeByName[p.name] = i
		g.pipelines = append(g.pipelines, p)
	}
	for i := range g.pipelines {
		g.prerender(i)
	}

	g.images = cfg.Images
	g.imgEnd = now - 5*60*1000
	g.imgStart = start

	for i := 0; i < cfg.StepTypes; i++ {
		name := stepTypeNames[i%len(stepTypeNames)]
		official, public := true, true
		if i >= len(stepTypeNames) {
			name = fmt.Sprintf("%s/custom-step-%d", g.accountName, i-len(stepTypeNames))
			official, public = false, false
		}
		created := start - 700*day + int64(g.h(kStepType, uint64(i), 1)%uint64(300*day))
		g.stepTypes = append(g.stepTypes, simStepType{
			name: name, id: g.oid(kStepType, uint64(i), created/1000),
			category: pick(g.h(kStepType, uint64(i), 2), stepCategory),
			stage:    []string{"graduated", "incubating"}[g.h(kStepType, uint64(i), 3)%2],
			official: official, public: public, created: created,
			updated:  created + int64(g.h(kStepType, uint64(i), 4)%uint64(300*day)),
			finished: int64(g.h(kStepType, uint64(i), 5) % 100000),
		})
	}

	g.auditEvents = cfg.AuditEvents
	g.auditEnd = now

	// Hermes (registry / cron event) triggers: one per fourth pipeline.
	for i := 0; i < len(g.pipelines); i += 4 {
		p := &g.pipelines[i]
		acct := g.accountID[12:]
		h := simHermes{pipelineID: p.id, account: acct, secret: g.secretValue(kRegistry, uint64(i), 9)}
		if i%8 == 0 {
			h.typ, h.kind = "registry", "dockerhub"
			h.event = fmt.Sprintf("registry:dockerhub:%s:%s:push:%s", repoOwner, p.repo, acct)
			h.desc = fmt.Sprintf("Docker Hub %s/%s push event", repoOwner, p.repo)
			h.filter = "^v[0-9]+"
		} else {
			h.typ, h.kind = "cron", "codefresh"
			h.event = fmt.Sprintf("cron:codefresh:0 %d * * *:%s-nightly:%s", i%24, p.short, acct)
			h.desc = p.short + " nightly"
		}
		g.hermes = append(g.hermes, h)
	}
	return g
}

const day = int64(24 * time.Hour / time.Millisecond)

// prerender builds the per-pipeline fragments every build of that pipeline
// repeats, so a build renders mostly by copying bytes.
func (g *gen) prerender(i int) {
	p := &g.pipelines[i]
	proj := &g.projects[p.projectIdx]
	var w jw
	w.ks("pipelineName", p.name)
	w.ks("serviceName", p.name)
	w.ks("serviceId", p.id)
	w.ks("projectId", proj.id)
	w.ks("project", proj.name)
	w.ks("repoOwner", repoOwner)
	w.ks("repoName", p.repo)
	w.ks("repoURL", "https://github.com/"+repoOwner+"/"+p.repo)
	w.ks("provider", "github")
	p.buildFrag = w.b

	p.yaml = g.pipelineYAML(p, g.yamlSize)
	p.userYAML = appendJSONString(nil, p.yaml)
	final := strings.Replace(p.yaml, "version: \"1.0\"\n", "version: \"1.0\"\nmode: sequential\nfail_fast: true\n", 1) +
		"  # implicit steps added by the build engine\n  main_clone_implicit:\n    type: git-clone\n    repo: " + repoOwner + "/" + p.repo + "\n    revision: ${{CF_REVISION}}\n"
	p.finalYAML = appendJSONString(nil, final)
}

// pipelineYAML writes a plausible codefresh.yml of about size bytes.
func (g *gen) pipelineYAML(p *simPipeline, size int) string {
	var b strings.Builder
	b.WriteString("version: \"1.0\"\nstages:\n")
	for _, st := range p.steps {
		b.WriteString("  - " + st + "\n")
	}
	b.WriteString("steps:\n")
	for _, st := range p.steps {
		fmt.Fprintf(&b, "  %s:\n    title: %q\n    stage: %s\n", st, strings.ReplaceAll(st, "_", " "), st)
		if t, ok := stepTypeOf[st]; ok {
			fmt.Fprintf(&b, "    type: %s\n", t)
		} else {
			b.WriteString("    image: golang:1.22\n    commands:\n      - make " + st + "\n")
		}
	}
	for n := 0; b.Len() < size; n++ {
		fmt.Fprintf(&b, "  extra_check_%d:\n    title: \"Extra check %d\"\n    image: alpine:3.19\n    commands:\n      - echo \"checking ${{CF_BRANCH}} at ${{CF_REVISION}}\"\n      - ./scripts/check.sh --strict --step %d\n", n, n, n)
	}
	return b.String()
}

// Build states and statuses.
const (
	stSuccess uint8 = iota
	stError
	stTerminated
)

var finalNames = [...]string{"success", "error", "terminated"}

// build is the compact per-build record: 24 bytes. Everything else a build
// shows is derived from (seed, index) when it is rendered.
type build struct {
	created  int64  // unix ms
	startDly uint32 // ms from created to started
	runDur   uint32 // ms from started to finished
	pipeline uint16 // index into gen.pipelines (New caps the count)
	back     uint16 // 0: a new commit; k: a rerun of build idx-k's commit
	final    uint8  // status once the build settles
	branch   uint8  // index into branchSet
	trig     uint8  // trigger kind: trigGit, trigManual, trigCron
}

// maxPipelines is the most pipelines a build record can point at.
const maxPipelines = 1<<16 - 1

// commit is the index whose revision, commit message and committer build
// idx shows: its own, or for a rerun the original build's.
func (b *build) commit(idx uint64) uint64 { return idx - uint64(b.back) }

const (
	trigGit uint8 = iota
	trigManual
	trigCron
)

func (b *build) startedAt() int64  { return b.created + int64(b.startDly) }
func (b *build) finishedAt() int64 { return b.startedAt() + int64(b.runDur) }

// status is derived from the clock: pending until started, running until
// finished, then the final status. Advancing the clock settles builds.
func (b *build) status(now int64) string {
	switch {
	case now < b.startedAt():
		return "pending"
	case now < b.finishedAt():
		return "running"
	}
	return finalNames[b.final]
}

// newBuild derives build idx of a given pipeline created at t.
func (g *gen) newBuild(idx uint64, created int64, pipelines int) build {
	b := build{created: created}
	if pipelines > 0 {
		// Some pipelines run far more often than others.
		r := frac(g.h(kBuild, idx, 1))
		b.pipeline = uint16(math.Floor(r * r * float64(pipelines)))
	}
	b.branch = uint8(g.h(kBuild, idx, 2) % uint64(len(branches)))
	b.branch = uint8(indexOf(branchSet, branches[b.branch]))
	b.startDly = uint32(2000 + g.h(kBuild, idx, 3)%28000)
	if g.h(kBuild, idx, 4)%40 == 0 { // queued behind concurrency limits
		b.startDly += uint32(g.h(kBuild, idx, 5) % uint64(10*time.Minute/time.Millisecond))
	}
	switch r := g.h(kBuild, idx, 7) % 100; {
	case r < 76:
		b.final = stSuccess
	case r < 92:
		b.final = stError
	default:
		b.final = stTerminated
	}
	switch r := g.h(kBuild, idx, 8) % 10; {
	case r < 7:
		b.trig = trigGit
	case r < 9:
		b.trig = trigManual
	default:
		b.trig = trigCron
	}
	if pipelines > 0 {
		p := &g.pipelines[b.pipeline]
		if b.trig == trigGit && p.gitTriggerID == "" {
			b.trig = trigManual
		}
		if b.trig == trigCron && p.cronTriggerID == "" {
			b.trig = trigManual
		}
		if b.trig == trigCron {
			b.branch = 0 // main
		}
	}
	g.setRunDur(idx, &b)
	return b
}

// setRunDur derives the run time from the pipeline's typical run and the
// outcome; a terminated build stops early.
func (g *gen) setRunDur(idx uint64, b *build) {
	mean := int64(5 * time.Minute / time.Millisecond)
	if len(g.pipelines) > 0 {
		mean = g.pipelines[b.pipeline].meanRun
	}
	b.runDur = uint32(float64(mean) * (0.5 + frac(g.h(kBuild, idx, 6))))
	if b.final == stTerminated {
		b.runDur /= 3
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}

// history creates n builds ending at now, and the lane state Advance goes
// on from. The newest few are forced to be in flight (pending or running)
// so listings show a realistic mix and Advance has something to settle.
func (g *gen) history(n int, now int64, span time.Duration) ([]build, *lanes) {
	out := make([]build, n)
	ln := newLanes(len(g.pipelines))
	if n == 0 {
		return out, ln
	}
	inflight := n / 50
	if inflight > 40 {
		inflight = 40
	}
	if inflight < 3 {
		inflight = min(3, n)
	}
	recent := int64(30 * time.Minute / time.Millisecond)
	start := now - span.Milliseconds()
	old := n - inflight
	gap := float64(span.Milliseconds()-recent) / float64(max(old, 1))
	for i := 0; i < old; i++ {
		t := start + int64(float64(i)*gap+frac(g.h(kBuild, uint64(i), 0))*gap*0.9)
		b := g.newBuild(uint64(i), t, len(g.pipelines))
		ln.shape(g, out[:i], &b)
		if b.finishedAt() >= now { // history is settled
			b.runDur = uint32(max(int64(1000), now-1000-b.startedAt()))
		}
		out[i] = b
	}
	rgap := recent / int64(inflight+1)
	for j := 0; j < inflight; j++ {
		i := old + j
		t := now - recent + int64(j+1)*rgap - int64(g.h(kBuild, uint64(i), 0)%uint64(rgap/2+1))
		b := g.newBuild(uint64(i), t, len(g.pipelines))
		ln.shape(g, out[:i], &b)
		age := now - t
		if g.h(kBuild, uint64(i), 9)%3 == 0 { // still queued
			b.startDly = uint32(age + 10000 + int64(g.h(kBuild, uint64(i), 10)%uint64(5*time.Minute/time.Millisecond)))
		} else {
			if int64(b.startDly) >= age {
				b.startDly = uint32(age / 2)
			}
			b.runDur = uint32(age - int64(b.startDly) + 30000 + int64(g.h(kBuild, uint64(i), 11)%uint64(20*time.Minute/time.Millisecond)))
		}
		out[i] = b
	}
	return out, ln
}

// arrivalGap is the deterministic, exponentially distributed time to the
// next build after build idx, for a mean rate per hour.
func (g *gen) arrivalGap(idx uint64, perHour float64) int64 {
	mean := float64(time.Hour/time.Millisecond) / perHour
	u := frac(g.h(kBuild, idx, 12))
	gap := -math.Log(1-u) * mean
	return max(int64(gap), 1)
}
