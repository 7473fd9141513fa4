package pipeline

import (
	"errors"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// explain is err as a trace and a load's info keep it: its text, its cause
// and the next step. A trace is read later by people (info, show) and by
// agents (through the tool layer), so the next step says what has to change in words
// for both, naming no command of one front end.
func explain(err error) *trace.Error {
	if err == nil {
		return nil
	}
	c := Classify(err)
	return &trace.Error{Message: codefresh.CutText(err.Error(), maxErrorText), Cause: c, NextStep: nextStep(c, err)}
}

// nextStep is what to do about err of cause c, from the facts it carries.
func nextStep(c trace.Cause, err error) string {
	var (
		ae  *codefresh.APIError
		dfe *projectfs.DiskFullError
		ue  *secrets.UntrustedURLError
		dmg *duckfile.DamagedError
	)
	hasAPI := errors.As(err, &ae)
	switch c {
	case trace.CauseDiskFull:
		errors.As(err, &dfe)
		return fmt.Sprintf("the disk holding %s is full and the load committed nothing: free space there (or point TMPDIR or destination.path at a disk with room), then load again", dfe.Dir)
	case trace.CauseConfig:
		switch {
		case isA[*DestinationRefusedError](err):
			return "keep destination.path a real file or folder inside the project, with no symbolic link on its way (the message says what was refused)"
		case isA[*projectfs.LinkError](err):
			return "a symbolic link stands where this program keeps its files (the message names it): the user should know why it is there and remove it, then load again"
		}
		return "fix " + ConfigFile + " as the message says"
	case trace.CauseCancelled:
		return "the load was cancelled and committed nothing: start it again when ready"
	case trace.CauseAuth:
		if !hasAPI {
			return "no API key: the user stores one with `codefresh-mcp secrets set` in their own terminal"
		}
		return "the key is invalid or revoked: the user stores a valid one with `codefresh-mcp secrets set` in their own terminal"
	case trace.CauseUntrustedURL:
		switch {
		case errors.As(err, &ue):
			return "only the user can allow it: if they trust that host with the key, they run `" + ue.TrustCommand() + "` in their own terminal; otherwise remove base_url from " + ConfigFile
		case isA[*codefresh.RedirectError](err):
			return "the base URL redirects elsewhere: if the target is the user's Codefresh, the user sets it with --base-url or CODEFRESH_BASE_URL"
		}
		return "the base URL is refused as the message says: the user sets a Codefresh URL with --base-url or CODEFRESH_BASE_URL"
	case trace.CauseRateLimit:
		if hasAPI && ae.RetryAfterTooLong() {
			return fmt.Sprintf("Codefresh asked to wait %s before the next request, longer than a load waits: load again after that (the cursor did not move); a lower request rate does not shorten it", ae.RetryAfter)
		}
		return "Codefresh kept rate limiting: lower requests_per_second and concurrency in " + ConfigFile + " and load again later (the cursor did not move)"
	case trace.CauseReplay:
		return "the replayed load asked for a request the record lacks: record again with the same pipeline file and options (`load --record FILE`)"
	case trace.CauseScope:
		scope := "the needed"
		if ae.Scope != "" {
			scope = "the " + ae.Scope
		}
		return "the key lacks a scope or the user may not read this: disable the resource or use a key with " + scope + " scope (a credential check lists what the key can load)"
	case trace.CauseNotFound:
		return "this installation may not have the endpoint: disable the resource in " + ConfigFile
	case trace.CauseNetwork:
		return "no answer from Codefresh after every retry: check the base URL, the network or proxy, and load again"
	case trace.CauseShape:
		if isA[*codefresh.DecodeError](err) {
			return "the API sent bodies that are not JSON (cut connections or an HTML proxy page): load again; if it persists, attach the debug record to a bug report"
		}
		return "the API answered in a shape the catalog does not know (the message shows it): attach the debug record to a bug report"
	case trace.CausePaging:
		return "the API's paging does not end or repeats a page: load again; if it persists, set a smaller page_size for the resource or disable it, and attach the debug record to a bug report"
	case trace.CauseDamaged:
		errors.As(err, &dmg)
		return "the DuckDB file " + dmg.Path + " is damaged: move it aside (rename it); the next load rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)"
	case trace.CauseLock:
		return "another process holds the database: let it finish (the error names it) and load again"
	case trace.CauseDestination:
		return "the destination refused the commit and is unchanged: the message says why (disk space, permissions, server)"
	case trace.CauseTrace:
		return unreadableTraceNext
	case trace.CauseLogStorage:
		return "the build logs' storage host refused or failed the log files (the message names the host and status): load again later; other resources are committed"
	}
	switch {
	case hasAPI && ae.Status >= 500:
		return "Codefresh answered server errors after every retry: load again later; other resources are committed"
	case hasAPI:
		return "Codefresh refused the request: check the resource's params in " + ConfigFile
	}
	return "see the message; load again, and attach the debug record to a bug report if it persists"
}
