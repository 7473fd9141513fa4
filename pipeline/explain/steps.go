package explain

import (
	"context"
	"fmt"
	"strings"
)

// Where a failing step was found.
const (
	fromSteps     = "build_steps"
	fromLogs      = "build_logs"
	fromLiveSteps = "live_steps"
	fromLiveLogs  = "live_logs"
)

// loadedSteps reads the build's build_steps rows in order; ok is false when
// the table is absent or has no rows for the build.
func (e *Explainer) loadedSteps(ctx context.Context, buildID string) ([]Step, bool, error) {
	t, err := e.describe(ctx, "build_steps")
	if err != nil || !t.present || !t.cols["build_id"] {
		return nil, false, err
	}
	res, err := e.query(ctx, "steps of build "+buildID, fmt.Sprintf(
		`SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM %s WHERE build_id = %s ORDER BY %s, %s`,
		t.col("name", ""), t.col("step_order", ""), t.col("type", ""), t.col("status", ""), t.col("result", ""),
		t.col("start_timestamp", ""), t.col("finish_timestamp", ""), t.col("total_time", ""),
		e.ref(t), literal(buildID), t.col("step_order", ""), t.col("name", "")))
	if err != nil {
		return nil, false, err
	}
	var steps []Step
	for i, v := range res.Rows {
		s := Step{Name: str(v[0]), Type: str(v[2]), Status: str(v[3]), Result: str(v[4]), Started: stamp(v[5]), Finished: stamp(v[6])}
		order, ok := num(v[1])
		if !ok {
			order = int64(i)
		}
		s.Order = int(order)
		if ms, ok := num(v[7]); ok {
			sec := float64(ms) / 1000
			s.Seconds = &sec
		} else {
			s.Seconds = seconds(s.Started, s.Finished)
		}
		steps = append(steps, s)
	}
	return steps, len(steps) > 0, nil
}

// failingStep is the first step that failed, or for a cancelled build the
// first step that was stopped; nil when the steps do not say.
func failingStep(steps []Step, outcome string) *Step {
	for _, s := range steps {
		if stepFailed(s.Result) || stepFailed(s.Status) {
			return &s
		}
	}
	if outcome == OutcomeCancelled {
		for _, s := range steps {
			if stepStopped(s.Result) || stepStopped(s.Status) {
				return &s
			}
		}
	}
	return nil
}

func briefs(steps []Step) []StepBrief {
	out := make([]StepBrief, 0, len(steps))
	for _, s := range steps {
		status := s.Result
		if status == "" {
			status = s.Status
		}
		out = append(out, StepBrief{Name: s.Name, Status: status, Seconds: s.Seconds})
	}
	return out
}

// detail finds the build's steps and logs (loaded, else live when a live
// source is set and the build did not pass), the failing step and its log.
func (e *Explainer) detail(ctx context.Context, r *Report) error {
	id := r.Build.ID
	steps, haveSteps, err := e.loadedSteps(ctx, id)
	if err != nil {
		return err
	}
	logs, haveLogs, err := e.loadedLogs(ctx, id)
	if err != nil {
		return err
	}
	r.Sources = Sources{Steps: SourceNotLoaded, Logs: SourceNotLoaded}
	if haveSteps {
		r.Sources.Steps = SourceLoaded
	}
	if haveLogs {
		r.Sources.Logs = SourceLoaded
	}
	stepsFrom, logsFrom := fromSteps, fromLogs
	wanted := r.Build.Outcome == OutcomeFailure || r.Build.Outcome == OutcomeCancelled
	if wanted && (!haveSteps || !haveLogs) && e.Live != nil {
		d, err := e.Live(ctx, LiveRequest{BuildID: id, ProgressID: r.Build.progress, Steps: !haveSteps, Logs: !haveLogs})
		switch {
		case err != nil:
			r.Sources.LiveError = cut(err.Error(), 300)
			if !haveSteps {
				r.Sources.Steps = SourceLiveFailed
			}
			if !haveLogs {
				r.Sources.Logs = SourceLiveFailed
			}
		case d != nil:
			if !haveSteps && d.Steps != nil {
				steps, r.Sources.Steps, stepsFrom = d.Steps, SourceLive, fromLiveSteps
			}
			if !haveLogs && d.Logs != nil {
				logs, r.Sources.Logs, logsFrom = d.Logs, SourceLive, fromLiveLogs
			}
		}
	}
	r.Steps = briefs(steps)
	if len(r.Steps) > maxSteps {
		r.Omitted = append(r.Omitted, fmt.Sprintf("steps: the first %d of %d steps listed", maxSteps, len(r.Steps)))
		r.Steps = r.Steps[:maxSteps]
	}
	if fs := failingStep(steps, r.Build.Outcome); fs != nil {
		fs.From = stepsFrom
		r.FailingStep = fs
	}
	if !wanted || len(logs) == 0 {
		return nil
	}
	var shown *LogStep
	if r.FailingStep != nil {
		shown = logOf(logs, r.FailingStep.Name)
	}
	if shown == nil {
		shown = erroredStep(logs)
		if shown != nil && r.FailingStep == nil {
			r.FailingStep = &Step{Name: shown.Name, Order: shown.Order, From: logsFrom}
		}
	}
	if shown == nil {
		shown = &logs[len(logs)-1] // no error line anywhere: the end of the log
	}
	r.full = shown
	return nil
}

// logOf is the log step named name (exactly, else ignoring case).
func logOf(logs []LogStep, name string) *LogStep {
	for i := range logs {
		if logs[i].Name == name {
			return &logs[i]
		}
	}
	for i := range logs {
		if strings.EqualFold(logs[i].Name, name) {
			return &logs[i]
		}
	}
	return nil
}

// erroredStep is the last step whose kept lines hold an error-like line:
// a failed build's log ends with the error of the step that failed.
func erroredStep(logs []LogStep) *LogStep {
	for i := len(logs) - 1; i >= 0; i-- {
		for _, l := range logs[i].Lines {
			if _, ok := errorRule(l); ok {
				return &logs[i]
			}
		}
	}
	return nil
}
