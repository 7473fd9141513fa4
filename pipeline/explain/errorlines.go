package explain

import "regexp"

// The rules that mark a log line as error-like, in order; the first that
// matches names the line's rule. They are case-aware on purpose: "ERROR"
// and "FAILED" in capitals are what tools print on failure, while "error"
// or "failed" in lower case is as often a count ("0 errors") or a name.
// Specific rules come first (a Go panic reads "panic: runtime error: ...").
// Lines are only matched, never run or interpreted.
var errorRules = []struct {
	name string
	re   *regexp.Regexp
}{
	{"panic:", regexp.MustCompile(`\bpanic:`)},
	{"Traceback", regexp.MustCompile(`\bTraceback \(most recent call last\)`)},
	{"npm ERR!", regexp.MustCompile(`npm ERR!`)},
	{"error:", regexp.MustCompile(`(?i)\berror(\[[^\]]{1,20}\])?:`)}, // error: / Error: / error[E0308]:
	{"ERROR", regexp.MustCompile(`\bERROR\b`)},
	{"FAILED", regexp.MustCompile(`\bFAIL(ED|URE)?\b`)},                               // go test's FAIL, pytest's FAILED
	{"exception", regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*(Error|Exception)(:|\s|$)`)}, // TypeError: / NullPointerException
	{"exit code", regexp.MustCompile(`(?i)\bexit(ed)?( with)? (code|status):? ?[1-9][0-9]*`)},
	{"fatal:", regexp.MustCompile(`(?i)\bfatal:|\bFATAL\b`)},
	{"segfault", regexp.MustCompile(`Segmentation fault`)},
	{"out of memory", regexp.MustCompile(`\bOOMKilled\b|(?i)\bout of memory\b`)},
}

// ErrorRules names the rules in order, for documentation.
func ErrorRules() []string {
	out := make([]string, len(errorRules))
	for i, r := range errorRules {
		out[i] = r.name
	}
	return out
}

// errorRule is the name of the first rule line matches.
func errorRule(line string) (string, bool) {
	for _, r := range errorRules {
		if r.re.MatchString(line) {
			return r.name, true
		}
	}
	return "", false
}
