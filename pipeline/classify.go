package pipeline

import (
	"context"
	"errors"
	"net/http"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Classify says what kind of failure err is, from the typed errors it
// wraps; an error of no known kind is trace.CauseServer. The kind is
// defined in trace, which keeps it; the classifying is here, where the
// errors are known.
func Classify(err error) trace.Cause {
	var (
		ae *codefresh.APIError
		ce *ConfigError
	)
	switch {
	case err == nil:
		return ""
	case isA[*projectfs.DiskFullError](err):
		return trace.CauseDiskFull
	case isA[*DestinationRefusedError](err), isA[*projectfs.LinkError](err):
		return trace.CauseConfig
	case errors.Is(err, context.Canceled):
		return trace.CauseCancelled
	case isA[*secrets.NoKeyError](err):
		return trace.CauseAuth
	case isA[*secrets.UntrustedURLError](err), isA[*codefresh.RedirectError](err),
		isA[*codefresh.AddressError](err), isA[*secrets.BaseURLError](err):
		return trace.CauseUntrustedURL
	case isA[*BusyError](err):
		return trace.CauseBusy
	case isA[*trace.UnreadableError](err):
		return trace.CauseTrace
	case isA[*codefresh.StorageError](err):
		return trace.CauseLogStorage
	case errors.As(err, &ae):
		return apiCause(ae)
	case isA[*codefresh.TransportError](err):
		return trace.CauseNetwork
	case isA[*codefresh.DecodeError](err), isA[*codefresh.ShapeError](err):
		return trace.CauseShape
	case isA[*codefresh.LoopError](err):
		return trace.CausePaging
	case isA[*duckfile.DamagedError](err):
		return trace.CauseDamaged
	case isA[*duckfile.LockedError](err):
		return trace.CauseLock
	case errors.As(err, &ce), isA[*codefresh.RefusedError](err):
		return trace.CauseConfig
	case isA[*CommitError](err), isA[*destination.WriteDeniedError](err):
		return trace.CauseDestination
	}
	return trace.CauseServer
}

// apiCause is the kind of an HTTP error answer.
func apiCause(ae *codefresh.APIError) trace.Cause {
	switch {
	case ae.RetryAfterTooLong():
		return trace.CauseRateLimit
	case ae.Name == codefresh.NotInRecord:
		return trace.CauseReplay
	case ae.Status == http.StatusUnauthorized:
		return trace.CauseAuth
	case ae.Status == http.StatusForbidden:
		return trace.CauseScope
	case ae.Status == http.StatusNotFound:
		return trace.CauseNotFound
	case ae.Status == http.StatusTooManyRequests:
		return trace.CauseRateLimit
	}
	return trace.CauseServer
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
