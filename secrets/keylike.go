package secrets

import (
	"regexp"
	"strings"
)

// Key-like secrets in free text (build logs): values the redactor cannot
// know, recognised by what surrounds them or by a token format.
var (
	// NAME=value, NAME: value, "name": "value" where NAME says token,
	// secret, password, key or credential (AWS_SECRET_ACCESS_KEY=...,
	// //registry/:_authToken=..., password: ...).
	assignedSecret = regexp.MustCompile(`(?i)([\w.-]*(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)[\w.-]*["']?\s*[:=]\s*["']?)([^\s"'&,;]{4,})`)
	// --password value, --api-key=value, -p value is too common to guess.
	flagSecret = regexp.MustCompile(`(?i)(--(?:[\w-]*-)?(?:token|secret|password|api-key|apikey|access-key)(?:=|\s+))([^\s"'&,;-][^\s"'&,;]{3,})`)
	// Authorization: Bearer xyz, Basic xyz.
	schemeSecret = regexp.MustCompile(`(?i)\b((?:bearer|basic|token)\s+)([A-Za-z0-9._~+/=-]{8,})`)
	// Token formats of well-known services, whatever surrounds them.
	formatSecret = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})\b`)
)

// MaskKeyLike replaces the key-like secrets of one line of free text with
// [REDACTED]: what follows a name that says token, secret, password or key,
// a secret-named flag's value, an authorization scheme's credentials, and
// tokens of well-known formats. It over-masks rather than under-masks.
func MaskKeyLike(s string) string {
	if !maybeSecret(s) {
		return s
	}
	s = formatSecret.ReplaceAllString(s, Redacted)
	for _, re := range []*regexp.Regexp{assignedSecret, flagSecret, schemeSecret} {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			g := re.FindStringSubmatch(m)
			// Already masked, or an authorization scheme whose credentials
			// schemeSecret masks.
			if strings.HasPrefix(g[2], Redacted) || strings.EqualFold(g[2], "bearer") || strings.EqualFold(g[2], "basic") {
				return m
			}
			return g[1] + Redacted
		})
	}
	return s
}

// maybeSecret is a cheap filter: most log lines name no secret, and the
// regular expressions cost far more than a scan.
func maybeSecret(s string) bool {
	l := strings.ToLower(s)
	for _, w := range []string{"token", "secret", "passw", "pwd", "key", "credential", "auth", "bearer", "basic", "gh", "glpat", "akia", "xox", "sk_live"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}
