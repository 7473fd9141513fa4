package trace

// Cause is the kind of a failure. Errors carry the facts (status, scope,
// PID, path); pipeline.Classify names their kind once, and each audience's
// advice table (people at the CLI, agents in tools) keys on it. Traces keep
// it, so it is defined here, below the pipeline that classifies.
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
	// CauseLogStorage: a build's log file could not be read from the storage
	// host its signed URL names (expired again after a fresh URL, or refused).
	CauseLogStorage Cause = "log_storage"
)
