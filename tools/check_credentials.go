package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/credcheck"
)

// checkProbeTimeout bounds the per-resource probe: an agent's call answers
// in seconds even when Codefresh is slow (unanswered probes say so).
const checkProbeTimeout = 20 * time.Second

// CheckCredentialsIn is check_credentials' input.
type CheckCredentialsIn struct {
	Resources []string `json:"resources,omitempty" jsonschema_description:"Probe these resources (catalog names) with one limit=1 request each"`
	Probe     bool     `json:"probe,omitempty" jsonschema_description:"Probe every catalog resource with one limit=1 request each (concurrent; at most 20 seconds)"`
}

// CheckCredentialsOut is check_credentials' result.
type CheckCredentialsOut struct {
	*credcheck.Result
	Next string `json:"next"`
}

func checkCredentials(d *Deps) Tool {
	return newTool(d, "check_credentials", "Check the Codefresh API key",
		"Find the Codefresh API key where the user keeps it (environment, OS keyring, .dlt/secrets.toml, ~/.cfconfig) and check it "+
			"without revealing it: which source won, a fingerprint, the user and account, the key's name and scopes, and for each "+
			"resource whether it is loadable or which scope is missing. By default that comes from the key's scopes (two requests, "+
			"one round trip); probe (or resources) sends one limit=1 request per resource, concurrently, for at most 20 seconds "+
			"(unanswered ones are not_checked). Never returns the key.",
		Hints{ReadOnly: true, Destructive: false, Idempotent: true, OpenWorld: true},
		func(ctx context.Context, in CheckCredentialsIn) (CheckCredentialsOut, error) {
			copts := credcheck.Options{HTTPClient: d.HTTPClient, Logger: d.Logger, ProbeTimeout: checkProbeTimeout,
				SkipMatrix: !in.Probe && len(in.Resources) == 0}
			for _, n := range in.Resources {
				r, ok := codefresh.Lookup(n)
				if !ok {
					return CheckCredentialsOut{}, errorf("list_endpoints shows the resource names", "no resource %q in the catalog", n)
				}
				copts.Resources = append(copts.Resources, r)
			}
			res, creds, err := credcheck.ResolveAndCheck(ctx, d.secretOptions(), copts)
			if creds != nil {
				d.Redactor.Add(creds.APIKey())
			}
			if err != nil {
				return CheckCredentialsOut{}, fmt.Errorf("check credentials: %w", err)
			}
			return CheckCredentialsOut{Result: res, Next: checkNext(res)}, nil
		})
}

func checkNext(res *credcheck.Result) string {
	switch res.Status {
	case credcheck.CheckOK:
		var next string
		switch n := res.Summary[credcheck.CapMissingScope]; {
		case n > 0:
			next = fmt.Sprintf("the key works; %d resources need scopes it lacks (a load skips them): ask the user for a key with those scopes, or preview_endpoint a loadable one", n)
		default:
			next = "the key works: preview_endpoint on a loadable resource, or start_load"
		}
		switch {
		case res.Summary[credcheck.CapNotChecked] > 0:
			next += fmt.Sprintf("; %d probes had no answer in time: probe them alone with resources", res.Summary[credcheck.CapNotChecked])
		case res.Matrix == credcheck.MatrixFromScopes:
			next += "; these capabilities come from the key's scopes: probe=true checks each resource for real"
		case res.Matrix == "":
			next += "; the key's scopes could not be read: probe=true checks each resource"
		}
		return next
	case credcheck.CheckNoKey, credcheck.CheckKeyInvalid:
		return "ask the user to create a key in Codefresh (User Settings > API Keys) and run `codefresh-mcp secrets set` in a terminal; never ask for the key in the chat"
	case credcheck.CheckUntrustedURL:
		return "nothing was sent. Only the user can allow this URL: tell them that " + res.BaseURLSource + " asks for " + res.BaseURL +
			" and, if they trust that host with the key, ask them to run `" + res.TrustCommand + "` in their own terminal; never edit base_url or secrets files to get around it"
	case credcheck.CheckUnreachable:
		return "check the base URL shown (base_url_source says where it comes from) and the network; the user sets it with --base-url or CODEFRESH_BASE_URL; then check again"
	default:
		return "read the message, fix the cause and call check_credentials again"
	}
}
