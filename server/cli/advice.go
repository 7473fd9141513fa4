package cli

import (
	"errors"
	"fmt"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// freshnessNext is what to do when a table is stale or never loaded.
const freshnessNext = "`codefresh-mcp load` refreshes stale tables; a table never loaded needs its resource enabled in " + pipeline.ConfigFile

// freshnessUnknown says that how current the data is could not be told.
func freshnessUnknown(err error) string {
	return "how current the tables read are is unknown (" + err.Error() + "); `codefresh-mcp info` lists the last loads"
}

// errorText is how the CLI shows a failed command: the error, then the next step.
func errorText(err error) string {
	text := "error: " + err.Error()
	if next := nextStep(err); next != "" {
		text += "\nnext step: " + next
	}
	return text
}

// nextStep is what a person at the terminal does about err, in command
// words; "" when the error's own message says enough. Error texts keep the
// facts; the advice for agents is the tools package's.
func nextStep(err error) string {
	if advise := advice[pipeline.Classify(err)]; advise != nil {
		return advise(err)
	}
	return ""
}

// advice is what a person does about each cause, from the facts the error carries.
var advice = map[trace.Cause]func(error) string{
	trace.CauseDamaged: func(err error) string {
		dmg := as[*duckfile.DamagedError](err)
		return fmt.Sprintf("move the damaged file aside (mv %q %q); the next `codefresh-mcp load` rebuilds it from Codefresh, reading everything again (its incremental cursors were in the file)",
			dmg.Path, dmg.Path+".damaged")
	},
	trace.CauseUntrustedURL: func(err error) string {
		ue := as[*secrets.UntrustedURLError](err)
		if ue == nil {
			return ""
		}
		return fmt.Sprintf("If you trust %s with this key, run:\n  %s\nOtherwise remove base_url from %s, or choose the URL yourself with --base-url or %s.",
			ue.URL, ue.TrustCommand(), ue.URLSource, secrets.EnvBaseURL)
	},
	trace.CauseAuth: func(err error) string {
		if as[*codefresh.APIError](err) == nil {
			return "" // no key: the error says where it looked and how to store one
		}
		return "the API key is invalid or revoked: store a valid one with `codefresh-mcp secrets set`; `codefresh-mcp secrets check` shows where the key came from"
	},
	trace.CauseScope: func(err error) string {
		if scope := as[*codefresh.APIError](err).Scope; scope != "" {
			return fmt.Sprintf("the API key lacks the %s scope, or the key is restricted (Codefresh restricts keys after unusual activity), or the user may not read this: use a key with the %s scope", scope, scope)
		}
		return "the API key is restricted or the user may not read this (admin-only endpoint?)"
	},
	trace.CauseNotFound: func(error) string {
		return "check the id or name (this Codefresh installation may not have the endpoint)"
	},
	trace.CauseRateLimit: func(err error) string {
		switch api := as[*codefresh.APIError](err); {
		case api.RetryAfterTooLong():
			return fmt.Sprintf("try again after %s (a lower request rate does not shorten it)", api.RetryAfter)
		case api.RetryAfter > 0:
			return fmt.Sprintf("retry after %s, or lower requests_per_second in %s", api.RetryAfter, pipeline.ConfigFile)
		}
		return "wait a minute and retry, or lower requests_per_second in " + pipeline.ConfigFile
	},
	trace.CauseServer: func(err error) string {
		if api := as[*codefresh.APIError](err); api != nil && api.Status >= 500 {
			return "try again later"
		}
		return ""
	},
	trace.CauseNetwork: func(error) string {
		return "check the base URL (`codefresh-mcp secrets check` shows it and where it comes from) and the network"
	},
	trace.CauseLock: func(error) string {
		return "let the other process finish (a load holds the lock only while committing) or stop it, then try again"
	},
}

// as is the error of type T that err wraps, or nil.
func as[T error](err error) T {
	var target T
	errors.As(err, &target)
	return target
}
