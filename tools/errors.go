package tools

import (
	"errors"
	"path/filepath"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
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
		dmg    *duckfile.DamagedError
	)
	switch {
	// Before a tool's own hint: no SQL or argument fixes a damaged file.
	case errors.As(err, &dmg):
		return "the DuckDB file is damaged, so nothing can be read from it: ask the user to move " + dmg.Path +
			" aside (e.g. rename it to " + filepath.Base(dmg.Path) + ".damaged); start_load then rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	case errors.As(err, &h) && h.next != "":
		return h.next
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
		return "check the base URL (CODEFRESH_BASE_URL, --base-url or base_url in the pipeline file) and the network"
	case errors.As(err, &shape):
		return "the records were not where the catalog expects them; the error shows the shape found"
	case errors.As(err, &locked):
		return "another process is writing the database (a load commits briefly): retry in a few seconds"
	case errors.As(err, &cfgErr):
		return "fix the key named with configure_pipeline, or ask the user to edit " + pipeline.ConfigFile
	}
	return ""
}
