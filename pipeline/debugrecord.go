package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
)

// Bounds of the debug record every load keeps until it succeeds.
const (
	autoRecordBodyBytes = 16 << 20
	keepRecords         = 5
	// guardEvery is how many record bytes pass between two looks at the
	// disk's free space: a statfs per HTTP exchange would be waste.
	guardEvery = 256 << 10
)

// LowSpaceError says a disk has less free space than this program keeps
// for loads, so a debug record was not written or not kept.
type LowSpaceError struct {
	Dir     string
	Free    int64
	Reserve int64
}

func (e *LowSpaceError) Error() string {
	return fmt.Sprintf("the disk holding %s has %s free, less than the %s kept free for loads", e.Dir, projectfs.Bytes(e.Free), projectfs.Bytes(e.Reserve))
}

// checkReserve refuses to write more bytes to dir when that would leave
// less than the disk's reserve.
func (p *Project) checkReserve(dir string, more int64) error {
	free := p.freeSpace
	if free == nil {
		free = projectfs.FreeSpace
	}
	sp := free(dir)
	if sp.Known() && sp.Free-more < sp.Reserve() {
		return &LowSpaceError{Dir: dir, Free: sp.Free, Reserve: sp.Reserve()}
	}
	return nil
}

// createRecord starts the load's debug record: at opts.Record, else a
// bounded one in the project that finishRecord keeps only if the load
// fails. A record in the project is made through its confined root. When
// the disk is short of space there is no record (nil) and the reason.
func (p *Project) createRecord(loadID string, names []string, opts Options, key string) (*record.Recorder, error) {
	h := record.Header{LoadID: loadID, Resources: names}
	rel, limit := "", int64(0)
	switch {
	case opts.Record == "":
		rel, limit = recordsFolder+"/"+loadID+".jsonl", autoRecordBodyBytes
	default:
		if r, err := filepath.Rel(p.Dir, opts.Record); err == nil && filepath.IsLocal(r) {
			rel = r // NewRecordPath's, or a person's path inside the project
		}
	}
	dir := filepath.Dir(opts.Record)
	if rel != "" {
		dir = filepath.Join(p.Dir, filepath.Dir(rel))
	}
	if err := p.checkReserve(dir, 0); err != nil {
		return nil, &recordDropped{err: err}
	}
	var rec *record.Recorder
	if rel == "" {
		r, err := record.Create(opts.Record, h, key, limit)
		if err != nil {
			return nil, err
		}
		rec = r
	} else {
		root, err := p.files()
		if err != nil {
			return nil, fmt.Errorf("debug record: %w", err)
		}
		if err := p.makeStateDir(root, filepath.Dir(rel)); err != nil {
			return nil, fmt.Errorf("debug record folder: %w", err)
		}
		f, err := root.Create(rel, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create debug record: %w", err)
		}
		if rec, err = record.Start(f, h, key, limit); err != nil {
			return nil, err
		}
	}
	var pending int64
	rec.Guard(func(n int64) error {
		if pending += n; pending < guardEvery {
			return nil
		}
		more := pending
		pending = 0
		if err := p.checkReserve(dir, more); err != nil {
			return &recordDropped{err: err}
		}
		return nil
	})
	return rec, nil
}

// recordDropped says why a debug record was not written or not kept.
type recordDropped struct{ err error }

func (e *recordDropped) Error() string { return "debug record not kept: " + e.err.Error() }
func (e *recordDropped) Unwrap() error { return e.err }

// finishRecord closes the record and returns its path if kept ("" if not).
// A record that could not be written whole, or that would leave the disk
// short of its reserve, is removed: the error says why.
func (p *Project) finishRecord(rec *record.Recorder, keep bool) (string, error) {
	if rec == nil {
		return "", nil
	}
	err := rec.Close()
	if err == nil && keep {
		if rerr := p.checkReserve(filepath.Dir(rec.Path()), 0); rerr != nil {
			err = &recordDropped{err: rerr}
		}
	}
	if !keep || err != nil {
		if rmErr := p.removeRecord(rec.Path()); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			err = errors.Join(err, rmErr)
		}
		if !keep {
			return "", err
		}
		var rd *recordDropped
		if !errors.As(err, &rd) {
			err = &recordDropped{err: projectfs.AsDiskFull(err, filepath.Dir(rec.Path()), "the debug record")}
		}
		return "", err
	}
	if filepath.Dir(rec.Path()) == p.recordsPath() {
		root, ferr := p.files()
		if ferr == nil {
			_, ferr = root.Prune(recordsFolder, recordName, keepRecords)
		}
		if ferr != nil {
			p.logger().Warn("old debug records not pruned", "error", ferr)
		}
	}
	return rec.Path(), nil
}

// removeRecord deletes a record, through the root when it is in the project.
func (p *Project) removeRecord(path string) error {
	rel, err := filepath.Rel(p.Dir, path)
	if err != nil || !filepath.IsLocal(rel) {
		return os.Remove(path)
	}
	root, err := p.files()
	if err != nil {
		return err
	}
	return root.Remove(rel)
}

// NewRecordPath names a fresh debug record in the project (a load's record
// option from an agent: it never chooses the file).
func (p *Project) NewRecordPath() (string, error) {
	root, err := p.files()
	if err != nil {
		return "", fmt.Errorf("debug record folder: %w", err)
	}
	if err := p.makeStateDir(root, recordsFolder); err != nil {
		return "", fmt.Errorf("debug record folder: %w", err)
	}
	return filepath.Join(p.recordsPath(), "record-"+time.Now().UTC().Format("20060102T150405.000000")+".jsonl"), nil
}
