package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
)

// Bounds of the kept traces.
const (
	keep         = 20 // traces kept in the project
	maxTraceFile = 64 << 20
)

// fileName is the name the store gives a trace, <load id>.json: only such
// files are ever pruned, so a file someone else put in the folder stays.
var fileName = regexp.MustCompile(`^[0-9]+\.[0-9]{6}\.json$`)

// Store keeps the traces of a project's last loads in one folder, each read
// and written through the project's confined root (no link leads a write or
// a prune outside the project, no file is read beyond its bound).
type Store struct {
	root    *projectfs.Root
	dir     string       // relative to root
	makeDir func() error // makes dir before a write: its owner knows how the state folder is kept
	log     *slog.Logger
}

// NewStore is the trace folder dir (relative to root); makeDir makes it.
func NewStore(root *projectfs.Root, dir string, makeDir func() error, log *slog.Logger) *Store {
	return &Store{root: root, dir: dir, makeDir: makeDir, log: log}
}

func (s *Store) name(loadID string) string { return File(s.dir, loadID) }

// File is the path of loadID's trace in the folder dir.
func File(dir, loadID string) string { return dir + "/" + loadID + ".json" }

// Save writes a trace and forgets the oldest beyond the last few.
func (s *Store) Save(t *Trace) error {
	if err := s.makeDir(); err != nil {
		return fmt.Errorf("save load trace: %w", err)
	}
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return fmt.Errorf("encode load trace: %w", err)
	}
	if err := s.root.WriteFile(s.name(t.LoadID), b, 0o600); err != nil {
		return fmt.Errorf("save load trace: %w", projectfs.AsDiskFull(err, s.root.Path(s.dir), "the load trace"))
	}
	if _, err := s.root.Prune(s.dir, fileName, keep); err != nil {
		s.log.Warn("old load traces not pruned", "error", err)
	}
	return nil
}

// UnreadableError says a kept trace file cannot be read or decoded
// (damaged, cut short by a full disk, or from another version).
type UnreadableError struct {
	LoadID   string
	Path     string
	Previous string // the load id of the kept trace before it ("": none)
	Err      error
}

func (e *UnreadableError) Error() string {
	prev := ""
	if e.Previous != "" {
		prev = fmt.Sprintf("; the trace before it is load %s's", e.Previous)
	}
	return fmt.Sprintf("the trace of load %s (%s) cannot be read: %v%s", e.LoadID, e.Path, e.Err, prev)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// ids lists the kept traces' load ids, newest first.
func (s *Store) ids() ([]string, error) {
	names, err := s.root.Files(s.dir, fileName)
	if err != nil {
		return nil, fmt.Errorf("read load traces: %w", err)
	}
	slices.Reverse(names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".json")
	}
	return names, nil
}

func (s *Store) read(loadID string) (*Trace, error) {
	b, err := s.root.ReadFile(s.name(loadID), maxTraceFile)
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

// List returns the kept traces, newest first, at most n (0: all). A trace
// that cannot be read is listed as such (status Unreadable, the error
// explain makes of why), never left out.
func (s *Store) List(n int, explain func(*UnreadableError) *Error) ([]*Trace, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	if n > 0 && len(ids) > n {
		ids = ids[:n]
	}
	out := make([]*Trace, 0, len(ids))
	for _, id := range ids {
		t, err := s.read(id)
		if err != nil {
			t = &Trace{LoadID: id, Status: Unreadable, Error: explain(&UnreadableError{LoadID: id, Path: s.root.Path(s.name(id)), Err: err})}
		}
		out = append(out, t)
	}
	return out, nil
}

// Get returns the kept trace of a load id ("" = the latest). When the latest
// cannot be read that is the error: an older load's trace is not passed off
// as the latest.
func (s *Store) Get(loadID string) (*Trace, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	if loadID == "" {
		if len(ids) == 0 {
			return nil, errors.New("no load trace in this project yet: run a load first")
		}
		loadID = ids[0]
	} else if !fileName.MatchString(loadID + ".json") {
		return nil, fmt.Errorf("load id %q is not valid (a load id looks like 1718000000.123456)", loadID)
	}
	t, err := s.read(loadID)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no trace of load %s (the last %d loads are kept)", loadID, keep)
	}
	if err != nil {
		ute := &UnreadableError{LoadID: loadID, Path: s.root.Path(s.name(loadID)), Err: err}
		if i := slices.Index(ids, loadID); i >= 0 && i+1 < len(ids) {
			ute.Previous = ids[i+1]
		}
		return nil, ute
	}
	return t, nil
}
