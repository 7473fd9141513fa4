package tools

import (
	"context"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// CheckCredentialsIn is check_credentials' input.
type CheckCredentialsIn struct {
	Resources  []string `json:"resources,omitempty" jsonschema_description:"Probe only these resources (catalog names); omit to probe every catalog resource"`
	SkipMatrix bool     `json:"skip_matrix,omitempty" jsonschema_description:"Only check the key (user and key scopes) without probing each resource"`
}

// CheckCredentialsOut is check_credentials' result.
type CheckCredentialsOut struct {
	*secrets.CheckResult
	Next string `json:"next"`
}

func checkCredentials(d *Deps) Tool {
	return newTool(d, "check_credentials", "Check the Codefresh API key",
		"Find the Codefresh API key where the user keeps it (environment, OS keyring, .dlt/secrets.toml, ~/.cfconfig) and check it "+
			"without revealing it: which source won, a fingerprint, the user and account, the key's name and scopes, and for each "+
			"resource whether it is loadable or which scope is missing (limit=1 probes). Never returns the key.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
		func(ctx context.Context, in CheckCredentialsIn) (CheckCredentialsOut, error) {
			copts := secrets.CheckOptions{HTTPClient: d.HTTPClient, Logger: d.Logger, SkipMatrix: in.SkipMatrix}
			for _, n := range in.Resources {
				r, ok := codefresh.Lookup(n)
				if !ok {
					return CheckCredentialsOut{}, errorf("list_endpoints shows the resource names", "no resource %q in the catalog", n)
				}
				copts.Resources = append(copts.Resources, r)
			}
			res, creds, err := secrets.ResolveAndCheck(ctx, d.secretOptions(), copts)
			if creds != nil {
				d.Redactor.Add(creds.APIKey())
			}
			if err != nil {
				return CheckCredentialsOut{}, fmt.Errorf("check credentials: %w", err)
			}
			return CheckCredentialsOut{CheckResult: res, Next: checkNext(res)}, nil
		})
}

func checkNext(res *secrets.CheckResult) string {
	switch res.Status {
	case secrets.CheckOK:
		if n := res.Summary[secrets.CapMissingScope]; n > 0 {
			return fmt.Sprintf("the key works; %d resources need scopes it lacks (a load skips them): ask the user for a key with those scopes, or preview_endpoint a loadable one", n)
		}
		return "the key works: preview_endpoint on a loadable resource"
	case secrets.CheckNoKey, secrets.CheckKeyInvalid:
		return "ask the user to create a key in Codefresh (User Settings > API Keys) and run `codefresh-mcp secrets set` in a terminal; never ask for the key in the chat"
	case secrets.CheckUnreachable:
		return "check the base URL (CODEFRESH_BASE_URL, --base-url or base_url in the pipeline file) and the network, then check again"
	default:
		return "read the message, fix the cause and call check_credentials again"
	}
}
