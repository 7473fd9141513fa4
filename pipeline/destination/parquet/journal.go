package parquet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The journal of a commit's rename phase, and what finishes or undoes a
// commit a crash stopped.

func (c *committer) writeJournal() error {
	j := journal{LoadID: c.pkg.LoadID}
	for _, f := range c.written {
		j.Written = append(j.Written, c.rel(f.final))
	}
	for _, path := range c.superseded {
		j.Superseded = append(j.Superseded, c.rel(path))
	}
	b, err := json.MarshalIndent(j, "", " ")
	if err != nil {
		return fmt.Errorf("encode journal: %w", err)
	}
	path := filepath.Join(c.dir, journalName)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := syncFile(path + ".tmp"); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	syncDir(c.dir)
	return nil
}

func (c *committer) rel(path string) string {
	r, err := filepath.Rel(c.dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// undo removes what a commit that failed before its commit point wrote.
func (c *committer) undo() {
	for _, f := range c.written {
		os.Remove(f.tmp)
		os.Remove(f.final)
	}
	os.Remove(filepath.Join(c.dir, journalName))
	os.Remove(filepath.Join(c.dir, journalName+".tmp"))
	for _, d := range slices.Backward(c.madeDirs) {
		os.Remove(d) // only when empty
	}
}

// recoverCommit finishes (when its load committed) or undoes (when not) a
// commit that a crash stopped in its rename phase, then removes files left
// under temporary names. It runs under the folder's lock.
func recoverCommit(dir string, log *slog.Logger) error {
	j, err := readJournal(dir)
	if err != nil {
		return err
	}
	if j != nil {
		loads, err := committedLoads(dir)
		if err != nil {
			return err
		}
		remove := j.Written
		if loads[j.LoadID] {
			remove = j.Superseded
		}
		for _, rel := range remove {
			if !filepath.IsLocal(filepath.FromSlash(rel)) {
				return fmt.Errorf("commit journal in %s names %q, outside the folder", dir, rel)
			}
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("finish interrupted load %s: %w", j.LoadID, err)
			}
		}
		if err := os.Remove(filepath.Join(dir, journalName)); err != nil {
			return fmt.Errorf("remove commit journal: %w", err)
		}
		log.Warn("finished an interrupted parquet commit", "load_id", j.LoadID, "committed", loads[j.LoadID], "files_removed", len(remove))
	}
	os.Remove(filepath.Join(dir, journalName+".tmp"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("list %s: %w", e.Name(), err)
		}
		for _, f := range files {
			if strings.HasSuffix(f.Name(), tmpExt) {
				if err := os.Remove(filepath.Join(dir, e.Name(), f.Name())); err != nil {
					return fmt.Errorf("remove unfinished file: %w", err)
				}
			}
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// syncDir makes renames in dir durable where the platform allows it.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
