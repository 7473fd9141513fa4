package trace

// LoadStatus is how a load stands, and with it its job: running until the
// load ends in one of the other values.
type LoadStatus string

// The load statuses.
const (
	LoadRunning   LoadStatus = "running"
	LoadSucceeded LoadStatus = "succeeded"
	// LoadCompletedWithErrors: some resources failed, the others were committed.
	LoadCompletedWithErrors LoadStatus = "completed_with_errors"
	LoadFailed              LoadStatus = "failed"
	LoadCancelled           LoadStatus = "cancelled"
	// Unreadable is the status of a kept trace whose file cannot be read:
	// the load's outcome is unknown.
	Unreadable LoadStatus = "unreadable"
)

// ResourceStatus is what a load did with one resource.
type ResourceStatus string

// The resource statuses.
const (
	StatusLoaded  ResourceStatus = "loaded"
	StatusSkipped ResourceStatus = "skipped"
	// StatusPreviewed: read but not committed (a partial read of a replace resource).
	StatusPreviewed ResourceStatus = "previewed"
	StatusFailed    ResourceStatus = "failed"
	// StatusNotReached: the load ended before it read the resource.
	StatusNotReached ResourceStatus = "not_reached"
)
