package explain

import "testing"

func TestErrorRules(t *testing.T) {
	for line, want := range map[string]string{
		"npm ERR! code ELIFECYCLE":                       "npm ERR!",
		"error: cannot find module":                      "error:",
		"src/main.rs:3:5: error[E0308]: mismatched":      "error:",
		"[SYSTEM] Error: Failed to run freestyle step":   "error:",
		"2024-05-01 ERROR db unreachable":                "ERROR",
		"--- FAIL: TestCheckout (0.52s)":                 "FAILED",
		"FAILED tests/test_api.py::test_get - assert":    "FAILED",
		"panic: runtime error: index out of range":       "panic:",
		"Traceback (most recent call last):":             "Traceback",
		"TypeError: undefined is not a function":         "exception",
		"Exception in thread main java.lang.IOException": "exception",
		"Process exited with code 2":                     "exit code",
		"make: *** [all] exit status 1":                  "exit code",
		"fatal: repository not found":                    "fatal:",
		"Segmentation fault (core dumped)":               "segfault",
		"container OOMKilled":                            "out of memory",
	} {
		if got, ok := errorRule(line); !ok || got != want {
			t.Errorf("%q: rule %q (%v), want %q", line, got, ok, want)
		}
	}
	for _, line := range []string{
		"0 errors found", "failed: 0", "retrying after a failed attempt", "exit code 0", "ErrorBoundary rendered",
		"errors.New is fine", "Error", "the build did not fail", "compiling error_handler.go",
	} {
		if got, ok := errorRule(line); ok {
			t.Errorf("%q matched %q", line, got)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[31mERROR\x1b[0m done\r": "ERROR done",
		"\x1b]0;title\x07make":        "make",
		"a\tb\x00c":                   "a\tb\uFFFDc",
		"safe \u202Eevil":             "safe \uFFFDevil",
		"\x1b]8;;http://x\x1b\\link":  "link",
		"bad utf8 \xff":               "bad utf8 \uFFFD",
		"unicode stays: naïve ✓":      "unicode stays: naïve ✓",
		"trailing escape \x1b":        "trailing escape ",
		"\x1b[unterminated csi":       "nterminated csi",
		"form\ffeed":                  "form\uFFFDfeed",
		"ok":                          "ok",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
