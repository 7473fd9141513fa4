package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/duckfile"
	"github.com/cfmcp/codefresh-mcp/pipeline/explain"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// freshnessNext is what to do when a table is stale or never loaded.
const freshnessNext = "`codefresh-mcp load` refreshes stale tables; a table never loaded needs its resource enabled in " + pipeline.ConfigFile

// noTokensNext is what to do before the first `serve --http`.
const noTokensNext = "create one with `codefresh-mcp tokens create --name NAME` (it is printed once: give it to the client), then run serve --http again"

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
	if next := explainErrorNext(err); next != "" {
		return next
	}
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
	trace.CauseLogStorage: func(error) string {
		return "load again later, or disable build_logs in " + pipeline.ConfigFile
	},
	trace.CauseDestination: func(err error) string {
		if as[*destination.WriteDeniedError](err) != nil {
			return "run the load with the loader's role (its password in env " + secrets.EnvPostgresCredentials + " or the keyring), or grant these rights; README \"Shared PostgreSQL dataset\" shows the roles to create. Reading (serve, query, info, metrics, explain) works with this role"
		}
		return ""
	},
	trace.CauseLock: func(error) string {
		return "let the other process finish (a load holds the lock only while committing) or stop it, then try again; a scheduled `codefresh-mcp load --lock-timeout 15m` waits up to that long"
	},
}

// as is the error of type T that err wraps, or nil.
func as[T error](err error) T {
	var target T
	errors.As(err, &target)
	return target
}

// explainErrorNext is what a person does about an explain error.
func explainErrorNext(err error) string {
	switch {
	case as[*explain.InvalidRequestError](err) != nil:
		return "run `codefresh-mcp explain BUILD_ID`, or `codefresh-mcp explain --pipeline PROJECT/PIPELINE [--branch BRANCH]`"
	case as[*explain.BuildNotFoundError](err) != nil:
		return "check the id; a build newer than the last load needs `codefresh-mcp load` first"
	case as[*explain.NoFailedBuildError](err) != nil && as[*explain.NoFailedBuildError](err).Builds == 0:
		return "use a loaded pipeline's name; `codefresh-mcp query \"SELECT DISTINCT pipeline_name FROM builds\"` lists them"
	case as[*explain.NoBuildsError](err) != nil:
		return "load builds first: `codefresh-mcp load`"
	}
	return ""
}

// explainNext is the next step after an explanation, in command words,
// from the report's facts (ids only where they look like ids).
func explainNext(r *explain.Report) string {
	var next []string
	h := r.History
	switch r.Situation {
	case explain.Flaky:
		next = append(next, "the same commit passed on a later build"+idOf(h.SameRevision.PassedLater)+": the failure is likely flaky, not caused by the change; compare the two runs' logs of the failing step")
	case explain.NewFailure:
		if h.LastSuccess != nil {
			next = append(next, "this is the first failure since build"+idOf(h.LastSuccess)+" passed: look at what changed between its commit and this one, starting from the error lines")
		} else {
			next = append(next, "no earlier build of this pipeline and branch passed in the loaded data: start from the error lines")
		}
	case explain.FailingStreak:
		next = append(next, "the branch has been failing since build"+idOf(h.FailingSince)+": look at what that build's commit changed")
	case explain.Succeeded:
		next = append(next, "this build passed; `codefresh-mcp explain --pipeline P` explains a pipeline's latest failure")
	case explain.InProgress:
		next = append(next, "the build has not finished: run `codefresh-mcp load` later and explain it again")
	case explain.Cancelled:
		next = append(next, "the build was cancelled, not failed by its steps")
	}
	if r.Situation != explain.Succeeded && r.Situation != explain.InProgress {
		for _, m := range []struct{ source, resource string }{{r.Sources.Logs, "build_logs"}, {r.Sources.Steps, "build_steps"}} {
			switch m.source {
			case explain.SourceNotLoaded:
				next = append(next, m.resource+" is not loaded for this build: enable it in "+pipeline.ConfigFile+" and run `codefresh-mcp load`")
			case explain.SourceLiveFailed:
				next = append(next, m.resource+" is not loaded and fetching it live failed")
			}
		}
	}
	return strings.Join(next, "; ")
}

func idOf(b *explain.BuildBrief) string {
	if id := b.PlainID(); id != "" {
		return " " + id
	}
	return ""
}
