// Package credcheck checks a Codefresh API key against the API: whose it
// is, its scopes and which resources it can load.
package credcheck

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Check statuses: the verdict on the key as a whole.
const (
	CheckOK          = "ok"          // GET /user succeeded
	CheckKeyInvalid  = "key_invalid" // 401
	CheckUnreachable = "unreachable" // no HTTP answer from the base URL
	CheckError       = "error"       // another failure of GET /user
	CheckNoKey       = "no_key"      // no source holds a key
	CheckOffline     = "not_checked" // Options.Offline
	// CheckUntrustedURL: a project file asks for a URL the key does not
	// belong to; nothing was sent.
	CheckUntrustedURL = "untrusted_url"
)

// Capability statuses; a 403 is "missing_scope:<scope>".
const (
	CapLoadable     = "loadable"
	CapMissingScope = "missing_scope"
	CapNotFound     = "not_found"
	CapTransient    = "transient"
	CapError        = "error"
	CapNotChecked   = "not_checked" // the probe had no answer within Options.ProbeTimeout
)

// How a result's capabilities were found.
const (
	MatrixProbed     = "probed"      // one limit=1 request per resource
	MatrixFromScopes = "from_scopes" // the key's scopes against each resource's, nothing sent
)

// Options tune Check. Zero values take the defaults.
type Options struct {
	Client        *codefresh.Client    // default: built from the credentials and the fields below
	HTTPClient    *http.Client         // for the default client
	Logger        *slog.Logger         // for the default client (wrap it with a Redactor)
	MaxAttempts   int                  // per request, default 2: a check should answer fast
	RetryBaseWait time.Duration        // default 250ms
	MaxRetryWait  time.Duration        // default 5s
	Parallel      int                  // matrix probes at once, default 16 (the client's rate limit paces them)
	ProbeTimeout  time.Duration        // the whole check, default 30s; probes unanswered by then are not_checked
	Resources     []codefresh.Resource // default codefresh.Catalog()
	Offline       bool                 // report resolution only, send nothing
	// SkipMatrix sends only GET /user and GET /auth/keys (at once); the
	// capabilities then come from the key's scopes, when its entry is found.
	SkipMatrix bool
}

// Result is what Check found. It never holds the key or a part of it.
type Result struct {
	Status        string                 `json:"status"`
	Message       string                 `json:"message,omitempty"` // what happened and what to do, when not ok
	Source        string                 `json:"source,omitempty"`
	Fingerprint   string                 `json:"fingerprint,omitempty"`
	BaseURL       string                 `json:"base_url"`
	BaseURLSource string                 `json:"base_url_source,omitempty"`
	BaseURLReason string                 `json:"base_url_reason,omitempty"` // why the key may (or may not) go there
	TrustCommand  string                 `json:"trust_command,omitempty"`   // untrusted_url: what the user runs to allow it
	Sources       []secrets.SourceReport `json:"sources"`
	Warnings      []string               `json:"warnings,omitempty"`
	User          *UserInfo              `json:"user,omitempty"`
	Key           *KeyInfo               `json:"key,omitempty"`
	Capabilities  []Capability           `json:"capabilities,omitempty"`
	Matrix        string                 `json:"matrix,omitempty"`  // how the capabilities were found: probed or from_scopes
	Summary       map[string]int         `json:"summary,omitempty"` // capability status (scope dropped) -> count
}

// UserInfo is who the key belongs to (GET /user).
type UserInfo struct {
	Name          string `json:"name"`
	ActiveAccount string `json:"active_account"`
	AccountID     string `json:"account_id,omitempty"`
}

// KeyInfo is the key's own entry in GET /auth/keys, matched locally.
type KeyInfo struct {
	Matched bool     `json:"matched"`
	Name    string   `json:"name,omitempty"`
	Scopes  []string `json:"scopes,omitempty"` // ["all"] when the key has no scope list
	Note    string   `json:"note,omitempty"`   // why it could not be matched
}

// Capability is whether one catalog resource can be loaded with the key.
type Capability struct {
	Resource string `json:"resource"`
	Path     string `json:"path"`
	Scope    string `json:"scope,omitempty"`
	Status   string `json:"status"`
	Inherits string `json:"inherits,omitempty"` // detail resources take their parent's status
	Message  string `json:"message,omitempty"`
}

// ResolveAndCheck resolves the key and checks it. With no key anywhere it
// returns a result with status no_key (and nil credentials), not an error;
// with a URL the key may not go to, status untrusted_url, nothing sent.
func ResolveAndCheck(ctx context.Context, opts secrets.Options, copts Options) (*Result, *secrets.Credentials, error) {
	creds, err := secrets.Resolve(ctx, opts)
	if res := ResolveFailure(err); res != nil {
		return res, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := Check(ctx, creds, copts)
	return res, creds, err
}

// ResolveFailure is the check result of a Resolve error that is a finding
// rather than a failure (no key, an untrusted URL), else nil.
func ResolveFailure(err error) *Result {
	var nk *secrets.NoKeyError
	var ue *secrets.UntrustedURLError
	switch {
	case errors.As(err, &nk):
		return noKeyResult(nk)
	case errors.As(err, &ue):
		return untrustedURLResult(ue)
	}
	return nil
}

// noKeyResult is the check result for no key: status no_key, every source's report.
func noKeyResult(e *secrets.NoKeyError) *Result {
	return &Result{Status: CheckNoKey, Message: e.Error(), BaseURL: e.BaseURL, Sources: slices.Clone(e.Sources)}
}

// untrustedURLResult is the check result for an untrusted URL: nothing was sent.
func untrustedURLResult(e *secrets.UntrustedURLError) *Result {
	return &Result{
		Status: CheckUntrustedURL, Message: e.Error(), Source: e.KeySource, Fingerprint: e.Fingerprint,
		BaseURL: e.URL, BaseURLSource: e.URLSource, Sources: e.Sources,
		TrustCommand:  e.TrustCommand(),
		BaseURLReason: "not trusted for this key, which belongs to " + e.KeyURL + " (" + e.KeyURLReason + ")",
	}
}

// Check reports where the key came from and what it can do: GET /user (who,
// which account), GET /auth/keys (the key's name and scopes, matched here by
// its public prefix: the key is never sent anywhere but in the header), and a
// limit=1 probe of every catalog listing. 401, 403, network errors are
// results, not errors; the error is for a cancelled context or bad options.
func Check(ctx context.Context, creds *secrets.Credentials, opts Options) (*Result, error) {
	if creds == nil || creds.APIKey() == "" {
		return nil, errors.New("check: no credentials")
	}
	res := &Result{
		Status: CheckOK, Source: creds.Source, Fingerprint: creds.Fingerprint,
		BaseURL: creds.BaseURL, BaseURLSource: creds.BaseURLSource, BaseURLReason: creds.BaseURLReason,
		Sources: slices.Clone(creds.Sources), Warnings: slices.Clone(creds.Warnings),
	}
	if opts.Offline {
		res.Status = CheckOffline
		return res, nil
	}
	red := secrets.NewRedactor(creds.APIKey())
	defer res.redact(red)

	client := opts.Client
	if client == nil {
		co := codefresh.OptionsFor(creds)
		co.HTTPClient, co.Logger = opts.HTTPClient, opts.Logger
		co.MaxAttempts = cmp.Or(opts.MaxAttempts, 2)
		co.RetryBaseWait = cmp.Or(opts.RetryBaseWait, 250*time.Millisecond)
		co.MaxRetryWait = cmp.Or(opts.MaxRetryWait, 5*time.Second)
		c, err := codefresh.New(co)
		if err != nil {
			res.Status, res.Message = CheckError, red.Redact(err.Error())
			return res, nil
		}
		client = c
	}

	resources := opts.Resources
	if resources == nil {
		resources = codefresh.Catalog()
	}
	// GET /user and GET /auth/keys at once, then the probes, all within the
	// time limit: the default check costs one round trip. The probes wait
	// for GET /user: with a rejected key every one of them would be a 401.
	pctx, cancel := context.WithTimeout(ctx, cmp.Or(opts.ProbeTimeout, 30*time.Second))
	defer cancel()
	keyc := make(chan *KeyInfo, 1)
	go func() { keyc <- matchKey(ctx, client, creds.APIKey()) }()
	user, err := client.Get(ctx, "/user", nil)
	if ctx.Err() != nil {
		<-keyc
		return nil, ctx.Err()
	}
	if err != nil {
		res.Status, res.Message = classifyUserError(err, creds)
		if res.Status == CheckKeyInvalid || res.Status == CheckUnreachable {
			<-keyc
			return res, nil
		}
	} else {
		res.User = parseUser(user.Body)
	}
	if !opts.SkipMatrix {
		res.Capabilities = probeAll(pctx, client, resources, cmp.Or(opts.Parallel, 16))
		res.Matrix = MatrixProbed
	}
	res.Key = <-keyc
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if opts.SkipMatrix && res.Key.Matched {
		res.Capabilities = fromScopes(resources, res.Key.Scopes)
		res.Matrix = MatrixFromScopes
	}
	if res.Capabilities != nil {
		res.Summary = map[string]int{}
		for _, c := range res.Capabilities {
			s, _, _ := strings.Cut(c.Status, ":")
			res.Summary[s]++
		}
	}
	return res, nil
}

// fromScopes says for each resource whether the key's scopes cover the one
// it needs: "all", the scope itself, or its area ("build" covers "build:read").
func fromScopes(resources []codefresh.Resource, scopes []string) []Capability {
	has := func(need string) bool {
		area, _, _ := strings.Cut(need, ":")
		return need == "" || slices.Contains(scopes, "all") || slices.Contains(scopes, need) || slices.Contains(scopes, area)
	}
	caps := make([]Capability, len(resources))
	for i, r := range resources {
		c := Capability{Resource: r.Name, Path: r.Path, Scope: r.Scope, Status: CapLoadable}
		if !has(r.Scope) {
			c.Status = CapMissingScope + ":" + r.Scope
		}
		caps[i] = c
	}
	return caps
}

func classifyUserError(err error, creds *secrets.Credentials) (status, msg string) {
	var ae *codefresh.APIError
	var te *codefresh.TransportError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		return CheckKeyInvalid, fmt.Sprintf("%s rejected the API key from %s (fingerprint %s) with HTTP 401: "+
			"the key is invalid, revoked, or for another installation. Store a valid key with `codefresh-mcp secrets set` "+
			"(or fix %s), then run `codefresh-mcp secrets check` again",
			creds.BaseURL, creds.Source, creds.Fingerprint, creds.Source)
	case errors.As(err, &te):
		return CheckUnreachable, fmt.Sprintf("could not reach %s (base URL from %s; change it with --base-url or %s): %v",
			creds.BaseURL, creds.BaseURLSource, secrets.EnvBaseURL, err)
	default:
		return CheckError, fmt.Sprintf("GET /user at %s failed: %v", creds.BaseURL, err)
	}
}

func parseUser(body []byte) *UserInfo {
	var u struct {
		UserName          string `json:"userName"`
		ActiveAccountName string `json:"activeAccountName"`
		Account           []struct {
			ID   string `json:"id"`
			OID  string `json:"_id"`
			Name string `json:"name"`
		} `json:"account"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return &UserInfo{}
	}
	info := &UserInfo{Name: u.UserName, ActiveAccount: u.ActiveAccountName}
	for _, a := range u.Account {
		if a.Name == u.ActiveAccountName && u.ActiveAccountName != "" {
			info.AccountID = cmp.Or(a.ID, a.OID)
			break
		}
	}
	return info
}

// matchKey finds the key's entry in GET /auth/keys by its tokenPrefix, here,
// without sending or printing any part of the key.
func matchKey(ctx context.Context, client *codefresh.Client, key string) *KeyInfo {
	resp, err := client.Get(ctx, "/auth/keys", nil)
	if err != nil {
		var ae *codefresh.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
			return &KeyInfo{Note: "cannot list API keys (HTTP 403): the key lacks the api-keys:read scope or may not list keys"}
		}
		return &KeyInfo{Note: "cannot list API keys: " + err.Error()}
	}
	var keys []struct {
		Name        string   `json:"name"`
		TokenPrefix string   `json:"tokenPrefix"`
		Scopes      []string `json:"scopes"`
	}
	if err := json.Unmarshal(resp.Body, &keys); err != nil {
		return &KeyInfo{Note: "GET /auth/keys did not return a list of keys"}
	}
	best, ties := -1, 0
	for i, k := range keys {
		if k.TokenPrefix == "" || !strings.HasPrefix(key, k.TokenPrefix) {
			continue
		}
		switch {
		case best < 0 || len(k.TokenPrefix) > len(keys[best].TokenPrefix):
			best, ties = i, 0
		case len(k.TokenPrefix) == len(keys[best].TokenPrefix):
			ties++
		}
	}
	switch {
	case best < 0:
		return &KeyInfo{Note: fmt.Sprintf("none of the account's %d API keys matches this key (a key of another user or account?)", len(keys))}
	case ties > 0:
		return &KeyInfo{Note: fmt.Sprintf("%d API keys share this key's prefix; cannot tell which it is", ties+1)}
	}
	k := keys[best]
	scopes := k.Scopes
	if len(scopes) == 0 {
		scopes = []string{"all"}
	}
	return &KeyInfo{Matched: true, Name: k.Name, Scopes: scopes}
}

// probeAll reads one record of every listing resource, parallel bounded
// by n (the client's rate limiter paces them); detail resources take their
// parent's status, the parent being probed even when it was not asked for.
func probeAll(ctx context.Context, client *codefresh.Client, resources []codefresh.Resource, n int) []Capability {
	probes := map[string]*Capability{}
	var order []codefresh.Resource
	add := func(r codefresh.Resource) {
		if _, ok := probes[r.Name]; !ok && !r.IsDetail() {
			probes[r.Name] = &Capability{}
			order = append(order, r)
		}
	}
	for _, r := range resources {
		add(r)
	}
	for _, r := range resources {
		if p, ok := codefresh.Lookup(r.Parent); ok && r.IsDetail() {
			add(p)
		}
	}

	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, r := range order {
		c := probes[r.Name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				c.Status, c.Message = CapNotChecked, "not probed before the probe's time limit: probe this resource alone"
				return
			}
			defer func() { <-sem }()
			err := client.Pages(ctx, r, codefresh.PageOptions{PageSize: 1, MaxPages: 1}, func(*codefresh.Page) error { return nil })
			c.Status, c.Message = classifyProbe(r, err)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				c.Status, c.Message = CapNotChecked, "no answer before the probe's time limit: probe this resource alone"
			}
		}()
	}
	wg.Wait()

	caps := make([]Capability, len(resources))
	for i, r := range resources {
		c := Capability{Resource: r.Name, Path: r.Path, Scope: r.Scope}
		switch p, ok := probes[r.Parent]; {
		case !r.IsDetail():
			c.Status, c.Message = probes[r.Name].Status, probes[r.Name].Message
		case ok:
			c.Inherits, c.Status = r.Parent, p.Status
		default:
			c.Inherits, c.Status, c.Message = r.Parent, CapError, "parent resource "+r.Parent+" is not in the catalog"
		}
		caps[i] = c
	}
	return caps
}

func classifyProbe(r codefresh.Resource, err error) (status, msg string) {
	if err == nil {
		return CapLoadable, ""
	}
	var ae *codefresh.APIError
	if errors.As(err, &ae) {
		msg = fmt.Sprintf("HTTP %d", ae.Status)
		if ae.Message != "" {
			msg += ": " + ae.Message
		}
		switch {
		case ae.Status == http.StatusForbidden:
			return CapMissingScope + ":" + cmp.Or(r.Scope, "unknown"), msg
		case ae.Status == http.StatusNotFound:
			return CapNotFound, msg
		case ae.RetryAfterTooLong():
			return CapTransient, fmt.Sprintf("%s after %d attempts: the API asked to retry after %s", msg, ae.Attempts, ae.RetryAfter)
		case ae.Status == http.StatusTooManyRequests || ae.Status >= 500:
			return CapTransient, fmt.Sprintf("%s after %d attempts", msg, ae.Attempts)
		}
		return CapError, msg
	}
	return CapError, err.Error()
}

// redact scrubs every free-text field, in case a server echoed the key.
func (res *Result) redact(r *secrets.Redactor) {
	res.Message = r.Redact(res.Message)
	for i := range res.Warnings {
		res.Warnings[i] = r.Redact(res.Warnings[i])
	}
	for i := range res.Sources {
		res.Sources[i].Reason = r.Redact(res.Sources[i].Reason)
	}
	if res.User != nil {
		res.User.Name, res.User.ActiveAccount = r.Redact(res.User.Name), r.Redact(res.User.ActiveAccount)
	}
	if res.Key != nil {
		res.Key.Name, res.Key.Note = r.Redact(res.Key.Name), r.Redact(res.Key.Note)
	}
	for i := range res.Capabilities {
		res.Capabilities[i].Message = r.Redact(res.Capabilities[i].Message)
	}
}
