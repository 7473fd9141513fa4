package parquet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
)

// On-disk layout of a dataset folder <root>/<dataset>:
//
//	<table>/<load_id>.parquet      one file per table per load that wrote it
//	_dlt_loads/<load_id>.parquet   one row per committed load: its commit mark
//	_dlt_pipeline_state/..., _dlt_version/...  as data tables
//	_cfmcp_commit.json             journal of a commit in its rename phase
//	.cfmcp.lock                    held by the committing process
//
// A file counts only when its load id has a _dlt_loads file, and not when
// the journal of a committed load lists it as superseded.
const (
	fileExt     = ".parquet"
	tmpExt      = ".parquet.tmp"
	journalName = "_cfmcp_commit.json"
	lockName    = ".cfmcp.lock"
)

// safeName is a table or load id usable as a file name on every platform.
var safeName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// journal is written before the rename phase of a commit and removed when
// the commit is complete; it says how to finish or undo a crashed commit.
type journal struct {
	LoadID     string   `json:"load_id"`
	Written    []string `json:"written"`    // new files (relative paths) the commit renames into place
	Superseded []string `json:"superseded"` // files it removes once committed
}

// Layout is what a dataset folder holds: the committed loads and, for each
// table, the files a reader must read.
type Layout struct {
	Dir    string              // <root>/<dataset>
	Loads  map[string]bool     // committed load ids
	Tables map[string][]string // table -> its committed files (absolute), oldest load first
}

// TableNames are the tables with files, sorted.
func (l *Layout) TableNames() []string {
	return slices.Sorted(maps.Keys(l.Tables))
}

// Scan reads the dataset folder <root>/<dataset>; a missing folder is an
// empty layout. A commit that passes its commit point while the folder is
// listed makes Scan list it again.
func Scan(root, dataset string) (*Layout, error) {
	dir := filepath.Join(root, dataset)
	var last *Layout
	for range 5 {
		before, err := committedLoads(dir)
		if err != nil {
			return nil, err
		}
		l, err := scan(dir, before)
		if err != nil {
			return nil, err
		}
		after, err := committedLoads(dir)
		if err != nil {
			return nil, err
		}
		if maps.Equal(before, after) {
			return l, nil
		}
		last = l
	}
	return last, nil
}

func scan(dir string, loads map[string]bool) (*Layout, error) {
	l := &Layout{Dir: dir, Loads: loads, Tables: map[string][]string{}}
	j, err := readJournal(dir)
	if err != nil {
		return nil, err
	}
	superseded := map[string]bool{}
	if j != nil && loads[j.LoadID] {
		for _, rel := range j.Superseded {
			superseded[filepath.Clean(rel)] = true
		}
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parquet: list %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !safeName.MatchString(e.Name()) {
			continue
		}
		table := e.Name()
		ids, err := loadIDs(filepath.Join(dir, table))
		if err != nil {
			return nil, err
		}
		var files []string
		for _, id := range ids {
			rel := filepath.Join(table, id+fileExt)
			if loads[id] && !superseded[rel] {
				files = append(files, filepath.Join(dir, rel))
			}
		}
		if len(files) > 0 {
			l.Tables[table] = files
		}
	}
	return l, nil
}

// committedLoads are the load ids with a _dlt_loads file.
func committedLoads(dir string) (map[string]bool, error) {
	ids, err := loadIDs(filepath.Join(dir, destination.LoadsTable))
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// loadIDs are the load ids of the finished files in a table folder, oldest first.
func loadIDs(tableDir string) ([]string, error) {
	entries, err := os.ReadDir(tableDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parquet: list %s: %w", tableDir, err)
	}
	var ids []string
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), fileExt)
		if ok && !e.IsDir() && safeName.MatchString(id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, compareLoadIDs)
	return ids, nil
}

// compareLoadIDs orders dlt load ids (unix seconds with a fraction) by time,
// other names by text after them.
func compareLoadIDs(a, b string) int {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	switch {
	case ea == nil && eb == nil && fa != fb:
		if fa < fb {
			return -1
		}
		return 1
	case ea == nil && eb != nil:
		return -1
	case ea != nil && eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func readJournal(dir string) (*journal, error) {
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("parquet: read commit journal: %w", err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("parquet: commit journal %s is damaged: %w", filepath.Join(dir, journalName), err)
	}
	return &j, nil
}
