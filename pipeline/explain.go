package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/parquet"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Causes classify an error, so the next step can be told.
const (
	CauseAuth        = "auth"
	CauseScope       = "scope"
	CauseNotFound    = "not_found"
	CauseRateLimit   = "rate_limit"
	CauseServer      = "server"
	CauseNetwork     = "network"
	CauseShape       = "shape"
	CausePaging      = "paging"
	CauseDestination = "destination"
	CauseLock        = "lock"
	CauseConfig      = "config"
	CauseCancelled   = "cancelled"
	CauseReplay      = "replay"
	// CauseUntrustedURL: the key would have gone to an origin its owner did
	// not choose (a project file's base_url, a redirect, a metadata address).
	CauseUntrustedURL = "untrusted_url"
	CauseDiskFull     = "disk_full"
	CauseTrace        = "trace" // a kept trace that cannot be read
	CauseDamaged      = "damaged_database"
)

// explain classifies err and says what to do next.
func explain(err error) *TraceError {
	if err == nil {
		return nil
	}
	te := &TraceError{Message: codefresh.CutText(err.Error(), maxErrorText)}
	var (
		ae  *codefresh.APIError
		tre *codefresh.TransportError
		de  *codefresh.DecodeError
		se  *codefresh.ShapeError
		le  *codefresh.LoopError
		lk  *duckfile.LockedError
		plk *parquet.LockedError
		ce  *ConfigError
		nk  *secrets.NoKeyError
		rf  *codefresh.RefusedError
		ue  *secrets.UntrustedURLError
		rd  *codefresh.RedirectError
		ad  *codefresh.AddressError
		bu  *codefresh.BaseURLError
		dfe *projectfs.DiskFullError
		lnk *projectfs.LinkError
		dre *DestinationRefusedError
		dmg *duckfile.DamagedError
	)
	switch {
	case errors.As(err, &dfe):
		te.Cause, te.NextStep = CauseDiskFull, fmt.Sprintf("the disk holding %s is full and the load committed nothing: free space there (or point TMPDIR or destination.path at a disk with room), then load again", dfe.Dir)
	case errors.As(err, &dre):
		te.Cause, te.NextStep = CauseConfig, "keep destination.path a real file or folder inside the project, with no symbolic link on its way (the message says what was refused)"
	case errors.As(err, &lnk):
		te.Cause, te.NextStep = CauseConfig, "a symbolic link stands where this program keeps its files (the message names it): ask the user why it is there and remove it, then load again"
	case errors.Is(err, context.Canceled):
		te.Cause, te.NextStep = CauseCancelled, "the load was cancelled and committed nothing: start it again when ready"
	case errors.As(err, &nk):
		te.Cause, te.NextStep = CauseAuth, "no API key: ask the user to run `codefresh-mcp secrets set` in their own terminal"
	case errors.As(err, &ue):
		te.Cause, te.NextStep = CauseUntrustedURL, "only the user can allow it: if they trust that host with the key, they run `"+ue.TrustCommand()+"` in their own terminal; otherwise remove base_url from "+ConfigFile
	case errors.As(err, &rd):
		te.Cause, te.NextStep = CauseUntrustedURL, "the base URL redirects elsewhere: if the target is the user's Codefresh, the user sets it with --base-url or CODEFRESH_BASE_URL"
	case errors.As(err, &ad), errors.As(err, &bu):
		te.Cause, te.NextStep = CauseUntrustedURL, "the base URL is refused as the message says: the user sets a Codefresh URL with --base-url or CODEFRESH_BASE_URL"
	case errors.As(err, &ae) && ae.RetryAfterTooLong():
		te.Cause, te.NextStep = CauseRateLimit, fmt.Sprintf("Codefresh asked to wait %s before the next request, longer than a load waits: load again after that (the cursor did not move); a lower request rate does not shorten it", ae.RetryAfter)
	case errors.As(err, &ae) && ae.Name == "NOT_IN_RECORD":
		te.Cause, te.NextStep = CauseReplay, "the replayed load asked for a request the record lacks: record again with the same pipeline file and options (`load --record FILE`)"
	case errors.As(err, &ae):
		switch {
		case ae.Status == http.StatusUnauthorized:
			te.Cause, te.NextStep = CauseAuth, "the key is invalid or revoked: ask the user to run `codefresh-mcp secrets set`, then check_credentials"
		case ae.Status == http.StatusForbidden:
			te.Cause, te.NextStep = CauseScope, "the key lacks a scope or the user may not read this: check_credentials lists what the key can load; disable the resource or use a key with "+orWord(ae.Scope, "the needed")+" scope"
		case ae.Status == http.StatusNotFound:
			te.Cause, te.NextStep = CauseNotFound, "this installation may not have the endpoint: preview_endpoint shows what it answers; disable the resource with configure_pipeline"
		case ae.Status == http.StatusTooManyRequests:
			te.Cause, te.NextStep = CauseRateLimit, "Codefresh kept rate limiting: lower requests_per_second and concurrency in codefresh_pipeline.toml and load again later (the cursor did not move)"
		case ae.Status >= 500:
			te.Cause, te.NextStep = CauseServer, "Codefresh answered server errors after every retry: load again later; other resources are committed"
		default:
			te.Cause, te.NextStep = CauseServer, "Codefresh refused the request: preview_endpoint shows the answer; check the resource's params in codefresh_pipeline.toml"
		}
	case errors.As(err, &tre):
		te.Cause, te.NextStep = CauseNetwork, "no answer from Codefresh after every retry: check the base URL (check_credentials shows it), the network or proxy, and load again"
	case errors.As(err, &de):
		te.Cause, te.NextStep = CauseShape, "the API sent bodies that are not JSON (cut connections or an HTML proxy page): load again; if it persists, attach the debug record to a bug report"
	case errors.As(err, &se):
		te.Cause, te.NextStep = CauseShape, "the API answered in a shape the catalog does not know: preview_endpoint shows it; attach the debug record to a bug report"
	case errors.As(err, &le):
		te.Cause, te.NextStep = CausePaging, "the API's paging does not end or repeats a page: load again; if it persists, set a smaller page_size for the resource or disable it, and attach the debug record to a bug report"
	case errors.As(err, &dmg):
		te.Cause, te.NextStep = CauseDamaged, "the DuckDB file "+dmg.Path+" is damaged: move it aside (rename it); the next load rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	case errors.As(err, &lk), errors.As(err, &plk):
		te.Cause, te.NextStep = CauseLock, "another process holds the database: let it finish (the error names it) and load again"
	case errors.As(err, &ce), errors.As(err, &rf):
		te.Cause, te.NextStep = CauseConfig, "fix codefresh_pipeline.toml as the message says (configure_pipeline validates it)"
	case strings.Contains(err.Error(), "commit load"), strings.Contains(err.Error(), "flush staging"):
		te.Cause, te.NextStep = CauseDestination, "the destination refused the commit and is unchanged: the message says why (disk space, permissions, server)"
	default:
		te.Cause, te.NextStep = CauseServer, "see the message; load again, and attach the debug record to a bug report if it persists"
	}
	return te
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return "the " + s
}
