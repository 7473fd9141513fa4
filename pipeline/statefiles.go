package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// The project's state folder holds local state only (load traces, debug
// records, the dashboard's URL), relative to the project folder. Every file
// in it is read and written through the project's confined root.
const (
	stateFolder   = ".codefresh-mcp"
	tracesFolder  = stateFolder + "/traces"
	recordsFolder = stateFolder + "/records"
)

// recordName matches the names this program gives its debug records: only
// these are ever pruned, so a file someone else put in the folder is never
// deleted (the trace store keeps to its own names likewise).
var recordName = regexp.MustCompile(`^([0-9]+\.[0-9]{6}|record-[0-9]{8}T[0-9]{6}\.[0-9]{6})\.jsonl$`) // <load id>.jsonl, NewRecordPath's

// Bounds of the state files when read back.
const (
	maxStateFile = 64 << 10 // dashboard.json, .gitignore
	// staleTemp: a temporary file this old is a dead process's, not a write in progress.
	staleTemp = 10 * time.Minute
)

// TraceFile is where the trace of loadID is kept, relative to the project folder.
func TraceFile(loadID string) string { return trace.File(tracesFolder, loadID) }

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

// traces is the project's trace store, in the state folder.
func (p *Project) traces() (*trace.Store, error) {
	root, err := p.files()
	if err != nil {
		return nil, err
	}
	return trace.NewStore(root, tracesFolder, func() error { return p.makeStateDir(root, tracesFolder) }, p.logger()), nil
}

// saveTrace writes a load's trace into the project.
func (p *Project) saveTrace(t *trace.Trace) error {
	s, err := p.traces()
	if err != nil {
		return fmt.Errorf("save load trace: %w", err)
	}
	return s.Save(t)
}

// Traces returns the project's kept load traces, newest first, at most n
// (0: all). A trace that cannot be read is listed as such (status
// trace.Unreadable, the reason as its error), never left out.
func (p *Project) Traces(n int) ([]*trace.Trace, error) {
	s, err := p.traces()
	if err != nil {
		return nil, fmt.Errorf("read load traces: %w", err)
	}
	return s.List(n, func(ute *trace.UnreadableError) *trace.Error {
		return &trace.Error{Message: ute.Error(), Cause: trace.CauseTrace, NextStep: unreadableTraceNext}
	})
}

const unreadableTraceNext = "this load's trace file is damaged (or from another version), so its outcome is unknown here; the database itself shows what was committed; remove the file to list the traces before it"

// Trace returns the kept trace of a load id ("" = the latest). When the
// latest cannot be read that is the error (a *trace.UnreadableError): an
// older load's trace is not passed off as the latest.
func (p *Project) Trace(loadID string) (*trace.Trace, error) {
	s, err := p.traces()
	if err != nil {
		return nil, fmt.Errorf("read load traces: %w", err)
	}
	return s.Get(loadID)
}

// recordsPath is the project's debug record folder, absolute.
func (p *Project) recordsPath() string { return filepath.Join(p.Dir, recordsFolder) }
