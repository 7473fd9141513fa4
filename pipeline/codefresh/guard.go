package codefresh

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// forbiddenPaths are GET endpoints with side effects or that mint or reveal
// credentials. Pattern segments: a literal (compared case-insensitively, as
// Codefresh's express routes are), "{x}" for any one segment, "**" (last) for
// one or more segments.
var forbiddenPaths = []struct{ Pattern, Reason string }{
	{"/builds/rebuild/{id}", "restarts a build"},
	{"/workflow/{id}/pending-approval/approve", "approves a pending build"},
	{"/workflow/{id}/pending-approval/deny", "denies a pending build"},
	{"/environments/all/terminate", "terminates every environment"},
	{"/environments/{id}/start", "starts an environment"},
	{"/environments/{id}/stop", "stops an environment"},
	{"/environments/{id}/pause", "pauses an environment"},
	{"/environments/{id}/unpause", "resumes an environment"},
	{"/environments/{id}/terminate", "terminates an environment"},
	{"/environments/{id}/rename/**", "renames an environment"},
	{"/kubernetes/rollback/**", "rolls back a Helm release"},
	{"/contexts/{name}/prepare", "mints credentials for a context"},
	{"/user/firebaseAuth", "mints a Firebase token"},
	{"/user/context", "notifies that a context was created"},
	{"/clusters/{selector}/credentials", "returns cluster credentials"},
	{"/registry/auth/token", "mints a registry token"},
	{"/team/group/synchronize/**", "synchronizes teams with the identity provider"},
}

// forbiddenParams are query parameters that make Codefresh return decrypted
// secrets, refused whatever their value.
var forbiddenParams = []struct{ Name, Reason string }{
	{"decrypt", "returns decrypted secrets"},
	{"decryptVariables", "returns decrypted pipeline variables"},
}

// RefusedError is a request the client will not send.
type RefusedError struct {
	Path   string // the path asked for (without query)
	Param  string // the refused query parameter; empty for a refused path
	Rule   string // the rule that matched: a path pattern or the parameter name
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("refused: query parameter %q on %s %s (rule %q); the loader never asks for secrets", e.Param, e.Path, e.Reason, e.Rule)
	}
	return fmt.Sprintf("refused: GET %s %s (rule %q); the loader never calls endpoints with side effects or that reveal credentials", e.Path, e.Reason, e.Rule)
}

// CheckRequest refuses a GET with side effects or a decrypting parameter.
// path is relative to the base URL and may still hold {placeholders}; a query
// in path is checked too. Both the path as given and its URL-decoded form are
// checked, so %2F tricks do not get through.
func CheckRequest(p string, q url.Values) error {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		if extra, err := url.ParseQuery(strings.TrimPrefix(p[i:], "?")); err == nil {
			if err := checkParams(p[:i], extra); err != nil {
				return err
			}
		}
		p = p[:i]
	}
	if err := checkParams(p, q); err != nil {
		return err
	}
	forms := []string{p}
	if dec, err := url.PathUnescape(p); err == nil && dec != p {
		forms = append(forms, dec)
	}
	for _, f := range forms {
		segs := cleanSegments(f)
		if len(segs) > 0 && strings.EqualFold(segs[0], "api") { // base URL given without /api
			if err := matchForbidden(p, segs[1:]); err != nil {
				return err
			}
		}
		if err := matchForbidden(p, segs); err != nil {
			return err
		}
	}
	return nil
}

func checkParams(p string, q url.Values) error {
	for k := range q {
		name := k
		if i := strings.IndexByte(name, '['); i >= 0 { // decrypt[]=, decrypt[x]=
			name = name[:i]
		}
		for _, f := range forbiddenParams {
			if strings.EqualFold(strings.TrimSpace(name), f.Name) {
				return &RefusedError{Path: p, Param: k, Rule: f.Name, Reason: f.Reason}
			}
		}
	}
	return nil
}

func cleanSegments(p string) []string {
	c := strings.Trim(path.Clean("/"+p), "/")
	if c == "" {
		return nil
	}
	return strings.Split(c, "/")
}

func matchForbidden(orig string, segs []string) error {
	for _, rule := range forbiddenPaths {
		if segmentsMatch(cleanSegments(rule.Pattern), segs) {
			return &RefusedError{Path: orig, Rule: rule.Pattern, Reason: rule.Reason}
		}
	}
	return nil
}

func segmentsMatch(pattern, segs []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return len(segs) > i
		}
		if i >= len(segs) {
			return false
		}
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			continue
		}
		if !strings.EqualFold(p, segs[i]) {
			return false
		}
	}
	return len(pattern) == len(segs)
}
