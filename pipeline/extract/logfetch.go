package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Defaults of LogSettings.
const (
	DefaultLogNewestPerPipeline = 20
	DefaultLogTailLines         = 200
	DefaultLogLineCap           = 2000
)

// DefaultLogStatuses are the build statuses whose logs load by default: the
// builds someone asks "why did it fail" about.
var DefaultLogStatuses = []string{"error", "terminated"}

// LogSettings choose which builds' logs load and bound what is kept of each.
type LogSettings struct {
	Statuses          []string // build statuses; empty: DefaultLogStatuses
	NewestPerPipeline int      // the newest builds per pipeline; 0: the default
	TailLines         int      // last lines kept per step; 0: the default
	LineCap           int      // characters kept of a line; 0: the default
}

// WithDefaults fills the zero fields.
func (s LogSettings) WithDefaults() LogSettings {
	if len(s.Statuses) == 0 {
		s.Statuses = DefaultLogStatuses
	}
	if s.NewestPerPipeline <= 0 {
		s.NewestPerPipeline = DefaultLogNewestPerPipeline
	}
	if s.TailLines <= 0 {
		s.TailLines = DefaultLogTailLines
	}
	if s.LineCap <= 0 {
		s.LineCap = DefaultLogLineCap
	}
	return s
}

// BuildLogStep is what is kept of one step of a build's log: its last
// lines, each masked and cut, and where they sit in the whole.
type BuildLogStep struct {
	Order     int      `json:"step_order"` // 0-based, in the log document
	Name      string   `json:"step_name"`
	LineCount int      `json:"line_count"` // lines the step had
	FirstLine int      `json:"first_line"` // 1-based number of Lines[0]
	Lines     []string `json:"lines"`
}

// LiveLogError is a build whose log is still live (Firebase): it has no
// file yet, so it is skipped, not failed.
type LiveLogError struct {
	ProgressID string
}

func (e *LiveLogError) Error() string {
	return "progress " + e.ProgressID + ": the log is live (the build has not finished): no log file yet"
}

// LogFetcher reads builds' logs: the progress record through the API client,
// the file it names through the storage client, which carries no key.
type LogFetcher struct {
	Client   *codefresh.Client
	Storage  *codefresh.StorageClient
	Redactor *secrets.Redactor // the key and other known secrets
	Limits   LogSettings       // zero fields take the defaults
}

// Fetch reads the log of the build with this progress id. A signed URL that
// expired (403) is asked for again once through a fresh progress record.
func (f *LogFetcher) Fetch(ctx context.Context, progressID string) ([]BuildLogStep, error) {
	body, err := f.file(ctx, progressID)
	var se *codefresh.StorageError
	if errors.As(err, &se) && se.Expired() {
		body, err = f.file(ctx, progressID)
		if err != nil {
			return nil, fmt.Errorf("build log of progress %s, after reading a fresh signed URL once: %w", progressID, err)
		}
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Steps []struct {
			Name string   `json:"name"`
			Logs []string `json:"logs"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, &codefresh.ShapeError{Resource: "build_logs", URL: "log file of progress " + progressID,
			Expected: []string{"steps"}, Got: "a body that is not {\"steps\":[{\"name\",\"logs\":[...]}]}"}
	}
	lim := f.Limits.WithDefaults()
	out := make([]BuildLogStep, len(doc.Steps))
	for i, st := range doc.Steps {
		out[i] = trimStep(i, st.Name, st.Logs, lim, f.Redactor)
	}
	return out, nil
}

// file reads the progress record and the log file it names.
func (f *LogFetcher) file(ctx context.Context, progressID string) ([]byte, error) {
	res, _ := codefresh.Lookup("build_logs")
	path, err := res.BuildPath(map[string]string{"id": progressID})
	if err != nil {
		return nil, err
	}
	resp, err := f.Client.GetFor(ctx, res, path, nil)
	if err != nil {
		return nil, err
	}
	loc, err := codefresh.ParseProgress(path, resp.Body)
	if err != nil {
		return nil, err
	}
	if loc.Live() {
		return nil, &LiveLogError{ProgressID: progressID}
	}
	return f.Storage.Get(ctx, path, loc.URL)
}

// trimStep keeps a step's last TailLines lines, each masked then cut at
// LineCap characters (masking first: a secret across the cut would leave
// its head behind).
func trimStep(order int, name string, lines []string, lim LogSettings, red *secrets.Redactor) BuildLogStep {
	keep := lines[max(0, len(lines)-lim.TailLines):]
	st := BuildLogStep{Order: order, Name: red.Redact(name), LineCount: len(lines),
		FirstLine: len(lines) - len(keep) + 1, Lines: make([]string, len(keep))}
	for i, l := range keep {
		st.Lines[i] = cutLine(secrets.MaskKeyLike(red.Redact(l)), lim.LineCap)
	}
	return st
}

// cutLine keeps a line's first n characters and says how many were cut.
func cutLine(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for k < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		k++
	}
	return s[:i] + fmt.Sprintf(" …[line cut: %d more characters]", utf8.RuneCountInString(s[i:]))
}

// Rows are the build_logs rows of one build's steps: the lines become the
// child table build_logs__lines.
func logRows(buildID, progressID string, steps []BuildLogStep) []map[string]any {
	out := make([]map[string]any, len(steps))
	for i, st := range steps {
		lines := make([]any, len(st.Lines))
		for j, l := range st.Lines {
			lines[j] = l
		}
		out[i] = map[string]any{
			"build_id": buildID, "progress_id": progressID,
			"step_order": json.Number(fmt.Sprint(st.Order)), "step_name": st.Name,
			"line_count": json.Number(fmt.Sprint(st.LineCount)), "first_line": json.Number(fmt.Sprint(st.FirstLine)),
			"lines": lines,
		}
	}
	return out
}
