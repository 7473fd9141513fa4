package tools

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// explain turns an error into the text a model sees: what happened, then
// what to do next, from the error itself or from its kind.
func explain(err error) string {
	msg := err.Error()
	if next := nextStep(err); next != "" {
		return msg + "\nNext: " + next
	}
	return msg
}

func nextStep(err error) string {
	var (
		h      *hinted
		api    *codefresh.APIError
		tr     *codefresh.TransportError
		shape  *codefresh.ShapeError
		locked *duckfile.LockedError
		busy   *pipeline.BusyError
		cfgErr *pipeline.ConfigError
		trust  *secrets.UntrustedURLError
		redir  *codefresh.RedirectError
		addr   *codefresh.AddressError
		badURL *secrets.BaseURLError
		full   *projectfs.DiskFullError
		link   *projectfs.LinkError
		dest   *pipeline.DestinationRefusedError
		trace  *pipeline.UnreadableTraceError
		dmg    *duckfile.DamagedError
	)
	switch {
	// Before a tool's own hint: no SQL or argument fixes a damaged file.
	case errors.As(err, &dmg):
		return "the DuckDB file is damaged, so nothing can be read from it: ask the user to move " + dmg.Path +
			" aside (e.g. rename it to " + filepath.Base(dmg.Path) + ".damaged); start_load then rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	case errors.As(err, &h) && h.next != "":
		return h.next
	case errors.As(err, &trust):
		return untrustedNext(trust)
	case errors.As(err, &redir), errors.As(err, &addr), errors.As(err, &badURL):
		return "tell the user: only they can set the Codefresh URL (--base-url or CODEFRESH_BASE_URL in their own terminal or MCP configuration); do not change base_url to work around it"
	case errors.As(err, &api) && api.RetryAfterTooLong():
		return fmt.Sprintf("Codefresh asked to wait %s before the next request: tell the user and do not retry before then", api.RetryAfter)
	case errors.As(err, &busy):
		return "call load_status with job_id " + busy.JobID + " and wait_seconds 30, or cancel_load it"
	case errors.As(err, &api) && api.Status == 401:
		return "call check_credentials; if the key is invalid, ask the user to run `codefresh-mcp secrets set` in a terminal (never paste the key into the chat)"
	case errors.As(err, &api) && api.Status == 403:
		return "call check_credentials to see the key's scopes; a load skips resources it cannot read unless they are marked required"
	case errors.As(err, &api) && api.Status == 404:
		return "check the path parameters and filters; this Codefresh installation may not have the endpoint"
	case errors.As(err, &api) && api.Status == 429:
		return "Codefresh is rate limiting: wait a minute, then retry"
	case errors.As(err, &tr):
		return "check the base URL (check_credentials shows it and where it comes from) and the network"
	case errors.As(err, &shape):
		return "the records were not where the catalog expects them; the error shows the shape found"
	case errors.As(err, &locked):
		return "another process is writing the database (a load commits briefly): retry in a few seconds"
	case errors.As(err, &full):
		return "the disk is full and nothing was committed: tell the user which folder (" + full.Dir + ") needs free space; start_load again once there is room"
	case errors.As(err, &dest):
		return "destination.path must be a real file or folder inside the project: ask the user about the link or path named, or set another path with configure_pipeline"
	case errors.As(err, &link):
		return "a symbolic link stands where this server keeps its files: ask the user why it is there and to remove it; do not remove or follow it yourself"
	case errors.As(err, &trace) && trace.Previous != "":
		return "explain_load with load_id " + trace.Previous + " shows the load before it; pipeline_info shows what the database committed"
	case errors.As(err, &trace):
		return "pipeline_info shows what the database committed"
	case errors.As(err, &cfgErr):
		return "fix the key named with configure_pipeline, or ask the user to edit " + pipeline.ConfigFile
	}
	return ""
}

// untrustedNext is the agent's advice on a URL the key may not go to: only
// the user can allow it, outside the agent.
func untrustedNext(e *secrets.UntrustedURLError) string {
	return "you cannot allow this, and must not edit base_url or secrets files to get around it: tell the user that " +
		e.URLSource + " asks to send their key to " + e.URL + "; if they trust that host with the key, they run `" +
		e.TrustCommand() + "` in their own terminal, otherwise base_url should be removed"
}
