package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/record"
)

// Bounds of the debug record every load keeps until it succeeds.
const (
	autoRecordBodyBytes = 16 << 20
	keepRecords         = 5
)

// createRecord starts the load's debug record: at opts.Record, else a
// bounded one in the project that finishRecord keeps only if the load fails.
func (p *Project) createRecord(loadID string, names []string, opts Options, key string) (*record.Recorder, error) {
	path, limit := opts.Record, int64(0)
	if path == "" {
		dir := p.stateDir("records")
		if err := p.makeStateDir(dir); err != nil {
			return nil, fmt.Errorf("debug record folder: %w", err)
		}
		path, limit = filepath.Join(dir, loadID+".jsonl"), autoRecordBodyBytes
	}
	return record.Create(path, record.Header{LoadID: loadID, Resources: names}, key, limit)
}

// finishRecord closes the record and returns its path if kept ("" if not).
func (p *Project) finishRecord(rec *record.Recorder, keep bool) (string, error) {
	if rec == nil {
		return "", nil
	}
	err := rec.Close()
	if !keep {
		return "", os.Remove(rec.Path())
	}
	if filepath.Dir(rec.Path()) == p.stateDir("records") {
		prune(p.stateDir("records"), ".jsonl", keepRecords)
	}
	return rec.Path(), err
}

// NewRecordPath names a fresh debug record in the project (a load's record
// option from an agent: it never chooses the file).
func (p *Project) NewRecordPath() (string, error) {
	dir := p.stateDir("records")
	if err := p.makeStateDir(dir); err != nil {
		return "", fmt.Errorf("debug record folder: %w", err)
	}
	return filepath.Join(dir, "record-"+time.Now().UTC().Format("20060102T150405.000000")+".jsonl"), nil
}
