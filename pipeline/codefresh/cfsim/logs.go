package cfsim

import (
	"fmt"
	"strings"
)

// Build logs, as the storage host serves them: {"steps":[{"name","logs":[...]}]}
// (the document the Codefresh CLI reads from location.url). The steps are the
// build's "Initializing Process" and the pipeline steps context-revision
// lists; the lines are derived from hashes, rendered on demand.

// Hash fields of the log lines, under kProgress; far above the fields the
// progress record uses.
const (
	fLogCount  uint64 = 1000 // + step: line count
	fLogLong   uint64 = 1100 // + step: which line is over-long, if any
	fLogSecret uint64 = 1200 // + step: which line carries a token
	fLogKey    uint64 = 1300 // the build echoes the API key in its first step
	fLogFail   uint64 = 1400 // which error text a failure ends with
	fLogLine   uint64 = 2000 // + step<<24 + line: a line's varying parts
)

// logStep is one step of a build's log document.
type logStep struct {
	name  string
	lines []string
}

// buildLog renders the log document of build idx; key is the API key a
// build may echo (so a test can prove the loader masks it).
func (g *gen) buildLog(idx uint64, b *build, now int64, key string) []logStep {
	p := &g.pipelines[b.pipeline]
	status := b.status(now)
	steps := []logStep{{name: "Initializing Process", lines: g.initLines(idx, b)}}
	failAt := len(p.steps) - 1
	if status == "error" || status == "terminated" {
		failAt = g.failedStep(idx, p.steps) // the steps after it never ran
	}
	for j, name := range p.steps[:failAt+1] {
		last := j == failAt
		lines := g.stepLines(idx, j, name, p.repo)
		if j == 0 && g.h(kProgress, idx, fLogKey)%6 == 0 {
			lines = append(lines, "codefresh auth create-context ci --api-key "+key)
		}
		switch {
		case last && status == "error":
			lines = append(lines, g.failureLines(idx, name, p.repo)...)
		case last && status == "terminated":
			lines = append(lines, "[SYSTEM] Build was terminated by a user request",
				"[SYSTEM] Error: Failed to run step: "+name+"; caused by Error: step terminated")
		}
		steps = append(steps, logStep{name: name, lines: lines})
	}
	return steps
}

func (g *gen) initLines(idx uint64, b *build) []string {
	return []string{
		"Initializing Process",
		"Pulling runtime images",
		fmt.Sprintf("Build ID: %s", g.oid(kBuild, idx, b.created/1000)),
		"Preparing docker-in-docker volume",
		"Attaching to runtime: codefresh-hosted (docker engine 24.0.7)",
		"Loading pipeline variables",
		"Workflow started",
	}
}

// stepLines are a step's ordinary output: a count that depends on the step's
// kind (some runs are thousands of lines long), one over-long line in some,
// and a line with a token in others.
func (g *gen) stepLines(idx uint64, j int, name, repo string) []string {
	hc := g.h(kProgress, idx, fLogCount+uint64(j))
	lo, hi := 8, 30
	switch name {
	case "build":
		lo, hi = 40, 400
		if hc%4 == 0 {
			lo, hi = 1500, 4000
		}
	case "unit_test", "integration_test":
		lo, hi = 60, 600
		if hc%3 == 0 {
			lo, hi = 2000, 6000
		}
	case "lint", "security_scan", "deploy":
		lo, hi = 15, 150
	case "notify":
		lo, hi = 3, 6
	}
	n := lo + int((hc>>8)%uint64(hi-lo+1))
	long := -1
	if hl := g.h(kProgress, idx, fLogLong+uint64(j)); hl%5 == 0 {
		long = int((hl >> 8) % uint64(n))
	}
	secret := -1
	if hs := g.h(kProgress, idx, fLogSecret+uint64(j)); hs%3 == 0 {
		secret = int((hs >> 8) % uint64(n))
	}
	out := make([]string, n)
	for i := range out {
		v := g.h(kProgress, idx, fLogLine+uint64(j)<<24+uint64(i))
		switch i {
		case long:
			out[i] = "asset main." + fmt.Sprintf("%08x", v) + ".js " + strings.Repeat(fmt.Sprintf("%016x", v), 150+int(v%200))
		case secret:
			if v%2 == 0 {
				out[i] = "npm config set //registry.npmjs.org/:_authToken=" + g.secretValue(kProgress, idx, fLogSecret+uint64(j))
			} else {
				out[i] = "export AWS_SECRET_ACCESS_KEY=" + g.secretValue(kProgress, idx, fLogSecret+uint64(j))
			}
		default:
			out[i] = stepLine(name, repo, i, n, v)
		}
	}
	return out
}

// stepLine is line i of n of an ordinary step's output.
func stepLine(name, repo string, i, n int, v uint64) string {
	switch name {
	case "clone":
		return []string{"Cloning into '" + repo + "'...", "remote: Enumerating objects: " + fmt.Sprint(v%9000), "Receiving objects: 100%", "Resolving deltas: 100%"}[i%4]
	case "build":
		return fmt.Sprintf("#%d [%d/%d] RUN npm run build -- --module %d (%0.1fs)", i/8+1, i%8+1, 8, v%5000, float64(v%900)/10)
	case "unit_test", "integration_test":
		return fmt.Sprintf("PASSED tests/test_%s.py::test_case_%d [%3d%%]", repo, v%10000, (i+1)*100/n)
	case "push":
		return fmt.Sprintf("%012x: Pushed", v)
	case "deploy":
		return fmt.Sprintf("helm upgrade %s: waiting for deployment rollout (%d/%d)", repo, i+1, n)
	case "notify":
		return "Sending notification to #ci-builds"
	}
	return fmt.Sprintf("[%s] checked %d files", name, v%800)
}

// failureLines end the failed step of a build in error: recognisable error
// output, whose last line is the engine's "exit code 1".
func (g *gen) failureLines(idx uint64, name, repo string) []string {
	exit := "[SYSTEM] Error: Failed to run step: " + name + "; caused by NonZeroExitCodeError: Container for step title: " + name + ", operation: step failed with exit code 1"
	switch name {
	case "build":
		return []string{
			"#12 [6/8] RUN npm ci --no-audit",
			"npm ERR! code ERESOLVE",
			"npm ERR! ERESOLVE unable to resolve dependency tree",
			`npm ERR! Could not resolve dependency: peer react@"^17.0.0" from react-dom@17.0.2`,
			"The command '/bin/sh -c npm ci --no-audit' returned a non-zero code: 1",
			exit,
		}
	case "unit_test", "integration_test":
		which := g.h(kProgress, idx, fLogFail) % 4
		return []string{
			fmt.Sprintf("FAILED tests/test_%s.py::test_case_%d - AssertionError: assert 41.99 == 42.0", repo, which),
			"=========== 1 failed, 212 passed in 37.41s ===========",
			exit,
		}
	case "lint":
		return []string{"src/api/orders.ts:42:7  error  'total' is assigned a value but never used  no-unused-vars", "✖ 1 problem (1 error, 0 warnings)", exit}
	case "push":
		return []string{"Error: denied: requested access to the resource is denied", exit}
	case "deploy":
		return []string{"Error: UPGRADE FAILED: timed out waiting for the condition", exit}
	}
	return []string{"Error: " + name + " failed", exit}
}

// appendLogDocument writes steps as the storage host's JSON document.
func appendLogDocument(b []byte, steps []logStep) []byte {
	w := jw{b: b}
	w.open('{')
	w.key("steps")
	w.open('[')
	for _, st := range steps {
		w.open('{')
		w.ks("name", st.name)
		w.kss("logs", st.lines...)
		w.close('}')
	}
	w.close(']')
	w.close('}')
	return w.b
}
