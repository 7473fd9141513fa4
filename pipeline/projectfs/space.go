package projectfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// Space is what a file system holds; both zero when it cannot be told.
type Space struct {
	Free  int64 // bytes this process may still write
	Total int64
}

// Known tells whether the file system answered.
func (s Space) Known() bool { return s.Total > 0 }

// Reserve is the free space this program's own bookkeeping (debug records)
// never eats into, so that a load's commit and its trace still fit: 64 MiB,
// or 5% of the disk up to 1 GiB (a large disk with little left is not
// spent on a record either).
func (s Space) Reserve() int64 {
	return max(64<<20, min(s.Total/20, 1<<30))
}

// FreeSpace tells how much the file system holding path (or its nearest
// existing parent) has left.
func FreeSpace(path string) Space {
	return statfs(existingDir(path))
}

// existingDir is path, or its nearest parent that exists (a staging
// folder is gone by the time its error is classified).
func existingDir(path string) string {
	for p := path; ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		if p == filepath.Dir(p) {
			return p
		}
	}
}

// DiskFullError says a write found its disk full (or the user's quota used
// up): which folder, what it has left and what the write was for, with its
// size when known. That size is not what the write needed: DuckDB writes a
// commit several times over (log, temporary spill, file), so the free space
// shown can exceed it and still be too little.
type DiskFullError struct {
	Dir   string // the folder written to
	Free  int64  // bytes left there when the error was seen
	Doing string // what the write was for, e.g. "committing 10.0 MiB of staged rows" ("": unknown)
	Err   error
}

func (e *DiskFullError) Error() string {
	doing := ""
	if e.Doing != "" {
		doing = ", too little for " + e.Doing
	}
	return fmt.Sprintf("disk full: %s has %s free%s (%s)", e.Dir, Bytes(e.Free), doing, firstLine(e.Err.Error()))
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// DuckDB's words for a full disk: its own writes ("No space left on
// device", from the OS) and its temporary folder filling up, which it
// reports as an out-of-memory error advising a higher memory_limit.
var (
	duckDiskFull = regexp.MustCompile(`(?i)no space left on device|disk quota exceeded|failed to offload data block|max_temp_directory_size`)
	duckFilePath = regexp.MustCompile(`(?:file|directory) "([^"]+)"`)
)

// IsDiskFull tells whether err says the disk (or quota) is full, from the
// OS or from DuckDB.
func IsDiskFull(err error) bool {
	var dfe *DiskFullError
	return err != nil && (errors.As(err, &dfe) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || duckDiskFull.MatchString(err.Error()))
}

// AsDiskFull turns a disk-full err into a *DiskFullError naming the folder
// written to (the failed path's folder when the error names one, else
// fallbackDir) and its free space now; doing says what the write was for. Other errors come back as they are.
func AsDiskFull(err error, fallbackDir, doing string) error {
	var dfe *DiskFullError
	if !IsDiskFull(err) || errors.As(err, &dfe) {
		return err
	}
	dir := fallbackDir
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
		dir = filepath.Dir(pe.Path)
	} else if m := duckFilePath.FindStringSubmatch(err.Error()); m != nil && filepath.IsAbs(m[1]) {
		dir = filepath.Dir(m[1])
	}
	if dir == "" {
		return err // no folder of ours: a server's disk
	}
	dir = existingDir(dir)
	return &DiskFullError{Dir: dir, Free: FreeSpace(dir).Free, Doing: doing, Err: err}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// Bytes shows a size for people: 512 B, 1.5 KiB, 16.0 MiB, 2.3 GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
