// Package projectfs is the one way this program touches files in a project
// folder: through an os.Root, so no path or link leads a read, a write or a
// delete outside the project. The project folder is untrusted (an agent or a
// cloned repository can plant files in it), so the local state files it
// keeps (traces, debug records, the dashboard's URL) are also refused when
// they or a folder on their way are symbolic links, even links that stay
// inside.
package projectfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Root is an open project folder.
type Root struct {
	dir  string
	root *os.Root
}

// Open opens the project folder dir (absolute) as a confined root.
func Open(dir string) (*Root, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open project folder: %w", err)
	}
	return &Root{dir: dir, root: r}, nil
}

// Dir is the project folder.
func (r *Root) Dir() string { return r.dir }

// Path is name (relative to the project) as an absolute path, for messages
// and for the C libraries that open files by path.
func (r *Root) Path(name string) string { return filepath.Join(r.dir, name) }

// Close releases the folder.
func (r *Root) Close() error { return r.root.Close() }

// LinkError refuses a symbolic link where the program keeps its own files.
type LinkError struct {
	Path   string // the link, absolute
	Target string // where it points, as written in the link
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("refused %s: it is a symbolic link (to %s), and this program's files in the project must be real files and folders; remove the link", e.Path, e.Target)
}

// CheckNoLinks refuses name when it, or a folder on its way below the
// project folder, is a symbolic link. A missing part ends the check: what
// does not exist yet is created by the caller, through the root.
func (r *Root) CheckNoLinks(name string) error {
	name = filepath.Clean(name)
	if !filepath.IsLocal(name) {
		return fmt.Errorf("%s is outside the project folder %s", name, r.dir)
	}
	parts := strings.Split(name, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		fi, err := r.root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", r.Path(p), err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := r.root.Readlink(p)
			return &LinkError{Path: r.Path(p), Target: target}
		}
	}
	return nil
}

// CheckTreeNoLinks is CheckNoLinks for name and everything below it, depth
// levels down: for a folder another library writes in by path.
func (r *Root) CheckTreeNoLinks(name string, depth int) error {
	if err := r.CheckNoLinks(name); err != nil || depth == 0 {
		return err
	}
	ents, err := r.entries(name)
	if err != nil {
		return err
	}
	for _, e := range ents {
		child := filepath.Join(name, e.Name())
		if e.Type()&fs.ModeSymlink != 0 || e.IsDir() {
			if err := r.CheckTreeNoLinks(child, depth-1); err != nil {
				return err
			}
		}
	}
	return nil
}

// MkdirAll makes the folder name and its parents (mode perm), refusing links.
func (r *Root) MkdirAll(name string, perm fs.FileMode) error {
	if err := r.CheckNoLinks(name); err != nil {
		return err
	}
	if err := r.root.MkdirAll(name, perm); err != nil {
		return fmt.Errorf("make folder %s: %w", r.Path(name), err)
	}
	// A link planted between the check and MkdirAll is refused here.
	return r.CheckNoLinks(name)
}

// WriteFile writes name whole or not at all: a temporary file beside it,
// then a rename. The temporary file is removed when anything fails, so a
// full disk leaves no partial file behind.
func (r *Root) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if err := r.CheckNoLinks(name); err != nil {
		return err
	}
	f, tmp, err := r.createTemp(name, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.root.Rename(tmp, name)
	}
	if err != nil {
		r.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", r.Path(name), err)
	}
	return nil
}

// TempSuffix ends the temporary files of WriteFile; RemoveStaleTemps finds them by it.
const TempSuffix = ".tmp"

// createTemp creates ".<base>-<random>.tmp" beside name; O_EXCL never
// follows a link planted under that name.
func (r *Root) createTemp(name string, perm fs.FileMode) (*os.File, string, error) {
	var b [6]byte
	rand.Read(b[:])
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"-"+hex.EncodeToString(b[:])+TempSuffix)
	f, err := r.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return nil, "", fmt.Errorf("write %s: %w", r.Path(name), err)
	}
	return f, tmp, nil
}

// Create makes a new file name (it must not exist), refusing links.
func (r *Root) Create(name string, perm fs.FileMode) (*os.File, error) {
	if err := r.CheckNoLinks(filepath.Dir(name)); err != nil {
		return nil, err
	}
	f, err := r.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", r.Path(name), err)
	}
	return f, nil
}

// TooLargeError says a file is past the size its reader accepts.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes, more than any file this program writes there", e.Path, e.Limit)
}

// ReadFile reads name, refusing links, non-regular files and more than limit bytes.
func (r *Root) ReadFile(name string, limit int64) ([]byte, error) {
	if err := r.CheckNoLinks(name); err != nil {
		return nil, err
	}
	f, err := r.root.Open(name)
	if err != nil {
		return nil, err // the caller tells "missing" from the rest: fs.ErrNotExist stays visible
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file", r.Path(name))
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Path(name), err)
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Path: r.Path(name), Limit: limit}
	}
	return b, nil
}

// Remove deletes name; a link is removed itself, never what it points to.
func (r *Root) Remove(name string) error {
	if err := r.CheckNoLinks(filepath.Dir(name)); err != nil {
		return err
	}
	return r.root.Remove(name)
}

// Files lists the regular files of the folder dir whose names match, sorted.
// A missing folder has none.
func (r *Root) Files(dir string, match *regexp.Regexp) ([]string, error) {
	ents, err := r.entries(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && match.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (r *Root) entries(dir string) ([]fs.DirEntry, error) {
	if err := r.CheckNoLinks(dir); err != nil {
		return nil, err
	}
	d, err := r.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Path(dir), err)
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Path(dir), err)
	}
	return ents, nil
}

// Prune removes the oldest regular files of dir matching match beyond
// keep (names sort by age: they start with a load id) and returns what it
// removed. Only names this program makes match, so a file someone else put
// there is never deleted.
func (r *Root) Prune(dir string, match *regexp.Regexp, keep int) ([]string, error) {
	names, err := r.Files(dir, match)
	if err != nil {
		return nil, err
	}
	var removed []string
	for len(names) > keep {
		if err := r.root.Remove(filepath.Join(dir, names[0])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("prune %s: %w", r.Path(dir), err)
		}
		removed = append(removed, names[0])
		names = names[1:]
	}
	return removed, nil
}

// RemoveStaleTemps removes WriteFile's temporary files in dir older than
// age: those of a process that died (or a disk that filled) mid-write.
// Younger ones may be another process's write in progress.
func (r *Root) RemoveStaleTemps(dir string, age time.Duration) error {
	ents, err := r.entries(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(n, ".") || !strings.HasSuffix(n, TempSuffix) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < age {
			continue
		}
		if err := r.root.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
