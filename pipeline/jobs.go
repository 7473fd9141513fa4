package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
)

// keepFinished bounds how many finished jobs Jobs remembers.
const keepFinished = 50

// MaxWaiters bounds the callers blocked on jobs at once (Job.Wait): each
// holds a request open, so beyond this many a caller gets the current
// status at once instead of another blocked request.
const MaxWaiters = 64

// JobStatus is a snapshot of one load job.
type JobStatus struct {
	ID       string           `json:"job_id"`
	State    trace.LoadStatus `json:"state"`
	Project  string           `json:"project"`
	Options  JobOpts          `json:"options"`
	Progress Progress         `json:"progress"`
	Info     *LoadInfo        `json:"load_info,omitempty"`
	LoadID   string           `json:"load_id,omitempty"` // of a failed load, whose trace tells why
	Error    string           `json:"error,omitempty"`
	Started  time.Time        `json:"started"`
	Ended    time.Time        `json:"ended,omitzero"`
}

// JobOpts is the part of Options a status shows: the same as a load's trace.
type JobOpts = trace.Options

func jobOpts(o Options) JobOpts {
	return JobOpts{Resources: slices.Clone(o.Resources), MaxPages: o.MaxPages, FullRefresh: o.FullRefresh, DryRun: o.DryRun, Record: o.Record}
}

// Done reports whether the job has finished, whatever the outcome.
func (s JobStatus) Done() bool { return s.State != trace.LoadRunning }

// Job is one load running in the background.
type Job struct {
	id     string
	key    string
	owner  string // who started it: only they see and cancel it (see Jobs)
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	status JobStatus
}

// ID is the job's id.
func (j *Job) ID() string { return j.id }

// Done is closed when the job has finished.
func (j *Job) Done() <-chan struct{} { return j.done }

// Status returns a snapshot of the job.
func (j *Job) Status() JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.status
	s.Options.Resources = append([]string(nil), s.Options.Resources...)
	return s
}

// Wait blocks until the job finishes or ctx ends, then returns its status.
func (j *Job) Wait(ctx context.Context) JobStatus {
	select {
	case <-j.done:
	case <-ctx.Done():
	}
	return j.Status()
}

// runner is what a job runs; *Project is the real one.
type runner interface {
	Run(ctx context.Context, opts Options) (*LoadInfo, error)
	DatabaseKey() string
}

// BusyError is returned by Start when a load already runs on the same
// database. JobID is empty when another owner's job runs: its id is theirs.
type BusyError struct{ JobID string }

func (e *BusyError) Error() string {
	if e.JobID == "" {
		return "a load job started by another client is already running on this database"
	}
	return fmt.Sprintf("load job %s is already running on this database", e.JobID)
}

// Jobs runs loads in the background, at most one per database. Each job
// has an owner, the caller that started it: the ...For methods see and
// cancel only the jobs of the owner they are given, so that clients of one
// server over HTTP cannot watch or stop each other's loads. The methods
// without For act as the owner "", the only one of a stdio server.
type Jobs struct {
	// Redact, when set, is applied to every error text a job records. Set it before Start.
	Redact func(string) string

	mu      sync.Mutex
	jobs    map[string]*Job
	order   []string        // job ids, oldest first
	running map[string]*Job // by database key
	wg      sync.WaitGroup
	waiters chan struct{} // one token per caller blocked in a wait, at most MaxWaiters
}

// NewJobs returns an empty job table.
func NewJobs() *Jobs {
	return &Jobs{jobs: map[string]*Job{}, running: map[string]*Job{}, waiters: make(chan struct{}, MaxWaiters)}
}

// ReserveWait claims one of the MaxWaiters places of callers about to block
// on a job; release gives it back. ok is false when every place is taken:
// the caller should answer with the current status instead of blocking.
func (js *Jobs) ReserveWait() (release func(), ok bool) {
	select {
	case js.waiters <- struct{}{}:
		return sync.OnceFunc(func() { <-js.waiters }), true
	default:
		return func() {}, false
	}
}

// Waiters is how many callers hold a place from ReserveWait.
func (js *Jobs) Waiters() int { return len(js.waiters) }

// Start runs p.Run(opts) in the background and returns at once. The job has its
// own context: it outlives the request that started it, until it ends or is cancelled.
func (js *Jobs) Start(p *Project, opts Options) (*Job, error) {
	return js.StartFor("", p, opts)
}

// StartFor is Start for owner: the job is theirs to see and cancel.
func (js *Jobs) StartFor(owner string, p *Project, opts Options) (*Job, error) {
	return js.startFor(owner, p, p.Dir, opts)
}

func (js *Jobs) start(r runner, project string, opts Options) (*Job, error) {
	return js.startFor("", r, project, opts)
}

func (js *Jobs) startFor(owner string, r runner, project string, opts Options) (*Job, error) {
	key := r.DatabaseKey()
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.running[key]; j != nil {
		if j.owner != owner {
			return nil, &BusyError{}
		}
		return nil, &BusyError{JobID: j.id}
	}
	id, err := newJobID()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{
		id:     id,
		key:    key,
		owner:  owner,
		cancel: cancel,
		done:   make(chan struct{}),
		status: JobStatus{
			ID:       id,
			State:    trace.LoadRunning,
			Project:  project,
			Options:  jobOpts(opts),
			Progress: Progress{Phase: PhaseStarting},
			Started:  time.Now().UTC(),
		},
	}
	js.jobs[id] = j
	js.order = append(js.order, id)
	js.running[key] = j
	js.forgetOldLocked()

	userProgress := opts.Progress
	opts.Progress = func(p Progress) {
		j.mu.Lock()
		j.status.Progress = p
		j.mu.Unlock()
		if userProgress != nil {
			userProgress(p)
		}
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		info, err := r.Run(ctx, opts)
		js.finish(j, ctx, info, err)
	}()
	return j, nil
}

// maxErrorText bounds an error's text as a job or a trace keeps it: the
// sources cut what came from outside, this bounds whatever wraps it.
const maxErrorText = 4 << 10

func (js *Jobs) finish(j *Job, ctx context.Context, info *LoadInfo, err error) {
	j.mu.Lock()
	j.status.Ended = time.Now().UTC()
	switch {
	case err == nil && info != nil && info.Status == trace.LoadCompletedWithErrors:
		j.status.State = trace.LoadCompletedWithErrors
		j.status.Info = info
		j.status.Progress.Phase = PhaseDone
	case err == nil:
		j.status.State = trace.LoadSucceeded
		j.status.Info = info
		j.status.Progress.Phase = PhaseDone
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		j.status.State = trace.LoadCancelled
		j.status.Error = "cancelled: nothing was committed by this job"
	case ctx.Err() != nil:
		// Cancelled, but Run reported its own error while stopping.
		j.status.State = trace.LoadCancelled
		j.status.Error = codefresh.CutText(js.redact("cancelled: "+err.Error()), maxErrorText)
	default:
		j.status.State = trace.LoadFailed
		j.status.Error = codefresh.CutText(js.redact(err.Error()), maxErrorText)
	}
	if err != nil && info != nil {
		j.status.LoadID = info.LoadID // the trace explains it
	}
	j.mu.Unlock()
	j.cancel()

	js.mu.Lock()
	if js.running[j.key] == j {
		delete(js.running, j.key)
	}
	js.mu.Unlock()
	close(j.done)
}

func (js *Jobs) redact(s string) string {
	if js.Redact == nil {
		return s
	}
	return js.Redact(s)
}

// forgetOldLocked drops the oldest finished jobs beyond keepFinished.
func (js *Jobs) forgetOldLocked() {
	excess := len(js.order) - keepFinished
	if excess <= 0 {
		return
	}
	kept := js.order[:0]
	for _, id := range js.order {
		j := js.jobs[id]
		if excess > 0 && js.running[j.key] != j {
			delete(js.jobs, id)
			excess--
			continue
		}
		kept = append(kept, id)
	}
	js.order = kept
}

// Get returns the job with id.
func (js *Jobs) Get(id string) (*Job, bool) { return js.GetFor("", id) }

// GetFor returns owner's job with id: another owner's job is not found.
func (js *Jobs) GetFor(owner, id string) (*Job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.jobs[id]
	if !ok || j.owner != owner {
		return nil, false
	}
	return j, true
}

// Running returns the job running on the database key, if any.
func (js *Jobs) Running(key string) (*Job, bool) { return js.RunningFor("", key) }

// RunningFor returns owner's job running on the database key, if any.
func (js *Jobs) RunningFor(owner, key string) (*Job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	j, ok := js.running[key]
	if !ok || j.owner != owner {
		return nil, false
	}
	return j, true
}

// ErrNoJob is returned for an unknown job id.
var ErrNoJob = errors.New("no such load job")

// Cancel cancels a running job and waits up to wait for it to stop; a
// finished job is left as it is. It returns the job's status either way.
func (js *Jobs) Cancel(id string, wait time.Duration) (JobStatus, error) {
	return js.CancelFor("", id, wait)
}

// CancelFor is Cancel of owner's job: another owner's job is not found.
func (js *Jobs) CancelFor(owner, id string, wait time.Duration) (JobStatus, error) {
	j, ok := js.GetFor(owner, id)
	if !ok {
		return JobStatus{}, fmt.Errorf("%w %q", ErrNoJob, id)
	}
	j.cancel()
	select {
	case <-j.done:
	case <-time.After(wait):
	}
	return j.Status(), nil
}

// List returns every remembered job, newest first.
func (js *Jobs) List() []JobStatus { return js.ListFor("") }

// ListFor returns owner's remembered jobs, newest first.
func (js *Jobs) ListFor(owner string) []JobStatus {
	js.mu.Lock()
	jobs := make([]*Job, 0, len(js.order))
	for i := len(js.order) - 1; i >= 0; i-- {
		if j := js.jobs[js.order[i]]; j.owner == owner {
			jobs = append(jobs, j)
		}
	}
	js.mu.Unlock()
	out := make([]JobStatus, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.Status())
	}
	return out
}

// CancelAll cancels every running job without waiting for them to stop.
func (js *Jobs) CancelAll() {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.running {
		j.cancel()
	}
}

// Close cancels every running job and waits until they have stopped or ctx ends.
func (js *Jobs) Close(ctx context.Context) error {
	js.CancelAll()
	done := make(chan struct{})
	go func() { js.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("load jobs still stopping: %w", ctx.Err())
	}
}

func newJobID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("job id: %w", err)
	}
	return "load_" + hex.EncodeToString(b), nil
}
