package pipeline

import (
	"regexp"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// Limits of the build_logs keys of the pipeline file.
const (
	maxLogStatuses     = 20
	maxNewestPerPipe   = 1000
	maxTailLines       = 10000
	minLineCap         = 80
	maxLineCap         = 100000
	logStatusesExample = `["error", "terminated"]`
)

// statusWord is a Codefresh build status: lower-case words joined by dashes
// (error, terminated, pending-approval).
var statusWord = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)

// checkLogs validates the build_logs keys: only a build-logs resource
// takes them, each within its bounds.
func (rc ResourceConfig) checkLogs(r codefresh.Resource, key func(...string) []string) error {
	if r.Strategy != codefresh.StrategyBuildLogs {
		for _, k := range []struct {
			name string
			set  bool
		}{{"statuses", len(rc.Statuses) > 0}, {"newest_per_pipeline", rc.NewestPerPipeline != 0}, {"tail_lines", rc.TailLines != 0}, {"line_cap", rc.LineCap != 0}} {
			if k.set {
				return keyError(key(k.name), "only build_logs takes this key")
			}
		}
		return nil
	}
	if len(rc.Statuses) > maxLogStatuses {
		return keyError(key("statuses"), "at most %d statuses", maxLogStatuses)
	}
	for _, s := range rc.Statuses {
		if len(s) > 40 || !statusWord.MatchString(s) {
			return keyError(key("statuses"), "%q is not a build status: use lower-case statuses such as %s", s, logStatusesExample)
		}
	}
	switch {
	case rc.NewestPerPipeline < 0 || rc.NewestPerPipeline > maxNewestPerPipe:
		return keyError(key("newest_per_pipeline"), "use 1 to %d", maxNewestPerPipe)
	case rc.TailLines < 0 || rc.TailLines > maxTailLines:
		return keyError(key("tail_lines"), "use 1 to %d", maxTailLines)
	case rc.LineCap != 0 && (rc.LineCap < minLineCap || rc.LineCap > maxLineCap):
		return keyError(key("line_cap"), "use %d to %d", minLineCap, maxLineCap)
	}
	return nil
}
