package explain

import (
	"context"
	"encoding/json"
	"fmt"
)

// loadedLogs reads the build's build_logs rows and their kept lines; ok is
// false when the tables are absent or hold nothing for the build.
func (e *Explainer) loadedLogs(ctx context.Context, buildID string) ([]LogStep, bool, error) {
	parent, err := e.describe(ctx, "build_logs")
	if err != nil || !parent.present || !parent.cols["build_id"] {
		return nil, false, err
	}
	lines, err := e.describe(ctx, "build_logs__lines")
	if err != nil {
		return nil, false, err
	}
	res, err := e.query(ctx, "log steps of build "+buildID, fmt.Sprintf(
		`SELECT _dlt_id, %s, %s, %s, %s FROM %s WHERE build_id = %s ORDER BY %s`,
		parent.col("step_order", ""), parent.col("step_name", ""), parent.col("line_count", ""), parent.col("first_line", ""),
		e.ref(parent), literal(buildID), parent.col("step_order", "")))
	if err != nil || len(res.Rows) == 0 {
		return nil, false, err
	}
	var steps []LogStep
	byID := map[string]int{}
	for i, v := range res.Rows {
		s := LogStep{Name: str(v[2])}
		order, ok := num(v[1])
		if !ok {
			order = int64(i)
		}
		count, _ := num(v[3])
		first, ok := num(v[4])
		if !ok || first < 1 {
			first = 1
		}
		s.Order, s.LineCount, s.FirstLine = int(order), int(count), int(first)
		byID[str(v[0])] = len(steps)
		steps = append(steps, s)
	}
	if lines.present && lines.cols["value"] {
		res, err := e.query(ctx, "log lines of build "+buildID, fmt.Sprintf(
			`SELECT l._dlt_parent_id, l.value FROM %s l JOIN %s p ON l._dlt_parent_id = p._dlt_id WHERE p.build_id = %s ORDER BY l._dlt_parent_id, l._dlt_list_idx`,
			e.ref(lines), e.ref(parent), literal(buildID)))
		if err != nil {
			return nil, false, err
		}
		for _, v := range res.Rows {
			if i, ok := byID[str(v[0])]; ok {
				steps[i].Lines = append(steps[i].Lines, str(v[1]))
			}
		}
	}
	return steps, true, nil
}

// fitLog makes the shown step's log part of the answer: its error-like
// lines (the first and the last ones when there are many) and its last
// lines kept, each numbered, cleaned and cut.
func (r *Report) fitLog(lines int) {
	s := r.full
	if s == nil {
		return
	}
	l := &Log{Note: UntrustedNote, Step: s.Name, LineCount: max(s.LineCount, s.FirstLine-1+len(s.Lines)), KeptFrom: s.FirstLine, ErrorLines: []Line{}, Tail: []Line{}}
	cutAny := false
	line := func(i int) Line {
		text := clean(s.Lines[i])
		shown := cut(text, LineChars)
		cutAny = cutAny || shown != text
		return Line{N: s.FirstLine + i, Text: shown}
	}
	var errs []int
	for i, text := range s.Lines {
		if _, ok := errorRule(clean(text)); ok {
			errs = append(errs, i)
		}
	}
	if len(errs) > maxErrorLines {
		r.Omitted = append(r.Omitted, fmt.Sprintf("error_lines: %d of %d error-like lines shown (the first and the last %d)", maxErrorLines, len(errs), maxErrorLines-1))
		errs = append(errs[:1], errs[len(errs)-(maxErrorLines-1):]...)
	}
	for _, i := range errs {
		ln := line(i)
		ln.Rule, _ = errorRule(clean(s.Lines[i]))
		l.ErrorLines = append(l.ErrorLines, ln)
	}
	from := max(0, len(s.Lines)-lines)
	if from > 0 {
		r.Omitted = append(r.Omitted, fmt.Sprintf("tail: the last %d of %d stored lines shown (max_lines up to %d shows more)", len(s.Lines)-from, len(s.Lines), MaxLinesCap))
	}
	for i := from; i < len(s.Lines); i++ {
		l.Tail = append(l.Tail, line(i))
	}
	if cutAny {
		r.Omitted = append(r.Omitted, fmt.Sprintf("log lines longer than %d characters were cut", LineChars))
	}
	r.Log = l
}

// bound cuts the answer to budget bytes of JSON: first the oldest tail
// lines, then error lines, then the step list and the earlier builds.
func (r *Report) bound(budget int) {
	size := func() int {
		b, _ := json.Marshal(r)
		return len(b)
	}
	if size() <= budget {
		return
	}
	if r.Log != nil {
		tail, errs := len(r.Log.Tail), len(r.Log.ErrorLines)
		for size() > budget && len(r.Log.Tail) > 5 {
			r.Log.Tail = r.Log.Tail[len(r.Log.Tail)/2:]
		}
		for size() > budget && len(r.Log.ErrorLines) > 3 {
			r.Log.ErrorLines = r.Log.ErrorLines[len(r.Log.ErrorLines)/2:]
		}
		if len(r.Log.Tail) < tail {
			r.Omitted = append(r.Omitted, fmt.Sprintf("tail: cut to its last %d lines to stay within %d KiB", len(r.Log.Tail), budget>>10))
		}
		if len(r.Log.ErrorLines) < errs {
			r.Omitted = append(r.Omitted, fmt.Sprintf("error_lines: cut to the last %d to stay within %d KiB", len(r.Log.ErrorLines), budget>>10))
		}
	}
	if n := len(r.Steps); size() > budget && n > 0 {
		r.Steps = nil
		r.Omitted = append(r.Omitted, fmt.Sprintf("steps: the list of %d steps left out to stay within %d KiB", n, budget>>10))
	}
	if n := len(r.History.Previous); size() > budget && n > 0 {
		r.History.Previous = []BuildBrief{}
		r.Omitted = append(r.Omitted, fmt.Sprintf("history.previous: %d earlier builds left out to stay within %d KiB", n, budget>>10))
	}
}
