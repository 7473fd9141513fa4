package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
)

// The project's state folder holds local state only (load traces, debug
// records, the dashboard's URL), relative to the project folder. Every file
// in it is read and written through the project's confined root.
const (
	stateFolder   = ".codefresh-mcp"
	tracesFolder  = stateFolder + "/traces"
	recordsFolder = stateFolder + "/records"
)

// Names this program gives its state files: only these are ever pruned, so
// a file someone else put in the folder is never deleted.
var (
	traceName  = regexp.MustCompile(`^[0-9]+\.[0-9]{6}\.json$`)                                       // <load id>.json
	recordName = regexp.MustCompile(`^([0-9]+\.[0-9]{6}|record-[0-9]{8}T[0-9]{6}\.[0-9]{6})\.jsonl$`) // <load id>.jsonl, NewRecordPath's
)

// Bounds of the state files when read back.
const (
	maxTraceFile = 64 << 20
	maxStateFile = 64 << 10 // dashboard.json, .gitignore
	// staleTemp: a temporary file this old is a dead process's, not a write in progress.
	staleTemp = 10 * time.Minute
)

// files is the project folder's confined root: the one opened by
// OpenProject, or a fresh one for a Project made by hand.
func (p *Project) files() (*projectfs.Root, error) {
	if p.fs != nil {
		return p.fs, nil
	}
	return projectfs.Open(p.Dir)
}

// makeStateDir makes sub (the state folder or one inside it), refusing
// links. The state folder keeps itself out of git.
func (p *Project) makeStateDir(root *projectfs.Root, sub string) error {
	if err := root.MkdirAll(sub, 0o700); err != nil {
		return err
	}
	ignore := stateFolder + "/.gitignore"
	if _, err := root.ReadFile(ignore, maxStateFile); errors.Is(err, fs.ErrNotExist) {
		_ = root.WriteFile(ignore, []byte("*\n"), 0o644)
	}
	return nil
}

// removeStaleTemps clears the state folders of temporary files a killed
// process or a full disk left behind. Best effort: a leftover costs only disk.
func (p *Project) removeStaleTemps() {
	root, err := p.files()
	if err != nil {
		return
	}
	for _, dir := range []string{stateFolder, tracesFolder, recordsFolder} {
		if err := root.RemoveStaleTemps(dir, staleTemp); err != nil {
			p.logger().Warn("stale temporary files not removed", "folder", root.Path(dir), "error", err)
		}
	}
}

// saveTrace writes a trace and forgets the oldest beyond keepTraces.
func (p *Project) saveTrace(t *Trace) error {
	root, err := p.files()
	if err != nil {
		return fmt.Errorf("save load trace: %w", err)
	}
	if err := p.makeStateDir(root, tracesFolder); err != nil {
		return fmt.Errorf("save load trace: %w", err)
	}
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return fmt.Errorf("encode load trace: %w", err)
	}
	if err := root.WriteFile(tracesFolder+"/"+t.LoadID+".json", b, 0o600); err != nil {
		return fmt.Errorf("save load trace: %w", projectfs.AsDiskFull(err, root.Path(tracesFolder), "the load trace"))
	}
	if _, err := root.Prune(tracesFolder, traceName, keepTraces); err != nil {
		p.logger().Warn("old load traces not pruned", "error", err)
	}
	return nil
}

// UnreadableTraceError says a kept trace file cannot be read or decoded
// (damaged, cut short by a full disk, or from another version).
type UnreadableTraceError struct {
	LoadID   string
	Path     string
	Previous string // the load id of the kept trace before it ("": none)
	Err      error
}

func (e *UnreadableTraceError) Error() string {
	prev := ""
	if e.Previous != "" {
		prev = fmt.Sprintf("; the trace before it is load %s's", e.Previous)
	}
	return fmt.Sprintf("the trace of load %s (%s) cannot be read: %v%s", e.LoadID, e.Path, e.Err, prev)
}

func (e *UnreadableTraceError) Unwrap() error { return e.Err }

// traceIDs lists the kept traces' load ids, newest first.
func (p *Project) traceIDs() (*projectfs.Root, []string, error) {
	root, err := p.files()
	if err != nil {
		return nil, nil, fmt.Errorf("read load traces: %w", err)
	}
	names, err := root.Files(tracesFolder, traceName)
	if err != nil {
		return nil, nil, fmt.Errorf("read load traces: %w", err)
	}
	slices.Reverse(names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".json")
	}
	return root, names, nil
}

func readTrace(root *projectfs.Root, loadID string) (*Trace, error) {
	name := tracesFolder + "/" + loadID + ".json"
	b, err := root.ReadFile(name, maxTraceFile)
	if err != nil {
		return nil, err
	}
	var t Trace
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("not a load trace: %w", err)
	}
	if t.LoadID != loadID {
		return nil, fmt.Errorf("not a load trace: it names load %q", t.LoadID)
	}
	return &t, nil
}

// Traces returns the project's kept load traces, newest first, at most n
// (0: all). A trace that cannot be read is listed as such (status
// TraceUnreadable, the reason as its error), never left out.
func (p *Project) Traces(n int) ([]*Trace, error) {
	root, ids, err := p.traceIDs()
	if err != nil {
		return nil, err
	}
	if n > 0 && len(ids) > n {
		ids = ids[:n]
	}
	out := make([]*Trace, 0, len(ids))
	for _, id := range ids {
		t, err := readTrace(root, id)
		if err != nil {
			t = &Trace{LoadID: id, Status: TraceUnreadable, Error: &TraceError{
				Message: (&UnreadableTraceError{LoadID: id, Path: root.Path(tracesFolder + "/" + id + ".json"), Err: err}).Error(),
				Cause:   CauseTrace, NextStep: unreadableTraceNext,
			}}
		}
		out = append(out, t)
	}
	return out, nil
}

const unreadableTraceNext = "this load's trace file is damaged (or from another version), so its outcome is unknown here; the database itself shows what was committed; remove the file to list the traces before it"

// Trace returns the kept trace of a load id ("" = the latest). When the
// latest cannot be read that is the error: an older load's trace is not
// passed off as the latest.
func (p *Project) Trace(loadID string) (*Trace, error) {
	root, ids, err := p.traceIDs()
	if err != nil {
		return nil, err
	}
	if loadID == "" {
		if len(ids) == 0 {
			return nil, errors.New("no load trace in this project yet: run a load first")
		}
		loadID = ids[0]
	} else if !traceName.MatchString(loadID + ".json") {
		return nil, fmt.Errorf("load id %q is not valid (a load id looks like 1718000000.123456)", loadID)
	}
	t, err := readTrace(root, loadID)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no trace of load %s (the last %d loads are kept)", loadID, keepTraces)
	}
	if err != nil {
		ute := &UnreadableTraceError{LoadID: loadID, Path: root.Path(tracesFolder + "/" + loadID + ".json"), Err: err}
		if i := slices.Index(ids, loadID); i >= 0 && i+1 < len(ids) {
			ute.Previous = ids[i+1]
		}
		return nil, ute
	}
	return t, nil
}

// recordsPath is the project's debug record folder, absolute.
func (p *Project) recordsPath() string { return filepath.Join(p.Dir, recordsFolder) }
