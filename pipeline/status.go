package pipeline

// Phase is what a running load is doing.
type Phase string

// The phases, in order.
const (
	PhaseStarting Phase = "starting"
	PhaseExtract  Phase = "extract"
	PhaseCommit   Phase = "commit"
	PhaseDone     Phase = "done"
)
