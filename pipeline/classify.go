package pipeline

import (
	"context"
	"errors"
	"net/http"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Cause is the kind of a failure. Errors carry the facts (status, scope,
// PID, path); Classify names their kind once, and each audience's advice
// table (people at the CLI, agents in tools) keys on it.
type Cause string

// The causes. A trace and a load's info keep the value.
const (
	CauseAuth      Cause = "auth"       // no key, or Codefresh refused it (401)
	CauseScope     Cause = "scope"      // 403: a scope the key lacks, or a restricted key
	CauseNotFound  Cause = "not_found"  // 404
	CauseRateLimit Cause = "rate_limit" // 429 after every retry, or a Retry-After too long to wait
	// CauseServer: Codefresh answered an error that is none of the above,
	// or nothing more specific is known about the failure.
	CauseServer      Cause = "server"
	CauseNetwork     Cause = "network" // no HTTP answer after every retry
	CauseShape       Cause = "shape"   // a body that is not JSON, or records not where the catalog says
	CausePaging      Cause = "paging"  // a listing that does not end
	CauseDestination Cause = "destination"
	CauseLock        Cause = "lock"
	CauseBusy        Cause = "busy" // a load already runs on this database
	CauseConfig      Cause = "config"
	CauseCancelled   Cause = "cancelled"
	CauseReplay      Cause = "replay"
	// CauseUntrustedURL: the key would have gone to an origin its owner did
	// not choose (a project file's base_url, a redirect, a metadata address).
	CauseUntrustedURL Cause = "untrusted_url"
	CauseDiskFull     Cause = "disk_full"
	CauseTrace        Cause = "trace" // a kept trace that cannot be read
	CauseDamaged      Cause = "damaged_database"
)

// Classify says what kind of failure err is, from the typed errors it
// wraps; an error of no known kind is CauseServer.
func Classify(err error) Cause {
	var (
		ae *codefresh.APIError
		ce *ConfigError
	)
	switch {
	case err == nil:
		return ""
	case isA[*projectfs.DiskFullError](err):
		return CauseDiskFull
	case isA[*DestinationRefusedError](err), isA[*projectfs.LinkError](err):
		return CauseConfig
	case errors.Is(err, context.Canceled):
		return CauseCancelled
	case isA[*secrets.NoKeyError](err):
		return CauseAuth
	case isA[*secrets.UntrustedURLError](err), isA[*codefresh.RedirectError](err),
		isA[*codefresh.AddressError](err), isA[*secrets.BaseURLError](err):
		return CauseUntrustedURL
	case isA[*BusyError](err):
		return CauseBusy
	case isA[*UnreadableTraceError](err):
		return CauseTrace
	case errors.As(err, &ae):
		return apiCause(ae)
	case isA[*codefresh.TransportError](err):
		return CauseNetwork
	case isA[*codefresh.DecodeError](err), isA[*codefresh.ShapeError](err):
		return CauseShape
	case isA[*codefresh.LoopError](err):
		return CausePaging
	case isA[*duckfile.DamagedError](err):
		return CauseDamaged
	case isA[*duckfile.LockedError](err):
		return CauseLock
	case errors.As(err, &ce), isA[*codefresh.RefusedError](err):
		return CauseConfig
	case isA[*CommitError](err):
		return CauseDestination
	}
	return CauseServer
}

// apiCause is the kind of an HTTP error answer.
func apiCause(ae *codefresh.APIError) Cause {
	switch {
	case ae.RetryAfterTooLong():
		return CauseRateLimit
	case ae.Name == codefresh.NotInRecord:
		return CauseReplay
	case ae.Status == http.StatusUnauthorized:
		return CauseAuth
	case ae.Status == http.StatusForbidden:
		return CauseScope
	case ae.Status == http.StatusNotFound:
		return CauseNotFound
	case ae.Status == http.StatusTooManyRequests:
		return CauseRateLimit
	}
	return CauseServer
}

// isA reports whether err wraps an error of type T.
func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// CommitError is a destination refusing a load's rows: flushing the
// staging area or committing. The destination is unchanged.
type CommitError struct {
	Step string // what was being done, e.g. "commit load 1718000000.123456"
	Err  error
}

func (e *CommitError) Error() string { return e.Step + ": " + e.Err.Error() }

func (e *CommitError) Unwrap() error { return e.Err }
