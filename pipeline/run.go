package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination"
	"github.com/cfmcp/codefresh-mcp/pipeline/destination/stage"
	"github.com/cfmcp/codefresh-mcp/pipeline/extract"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/pipeline/projectfs"
	"github.com/cfmcp/codefresh-mcp/pipeline/trace"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Run runs one load and returns what it did. It is safe to cancel ctx: the
// destination is then exactly as before and incremental cursors unmoved.
//
// A resource that fails (after the client's retries, or on a shape it cannot
// read) is reported and the others still commit, unless the pipeline file
// marks it required; the info's Status then says trace.LoadCompletedWithErrors.
// Every load leaves a trace in the project (Traces); a failed one keeps a
// debug record of its HTTP exchanges too. On an error the info, when not nil,
// has the load id and the record.
func (p *Project) Run(ctx context.Context, opts Options) (*LoadInfo, error) {
	start := time.Now()
	cfg := &p.Config
	names, err := p.selectResources(opts.Resources)
	if err != nil {
		return nil, err
	}
	if err := p.CheckDestination(); err != nil {
		return nil, err // before extracting what a commit could not write
	}
	creds := p.Credentials
	if creds == nil {
		creds, err = secrets.Resolve(ctx, p.SecretsOptions())
		if err != nil {
			return nil, err
		}
	}
	loadID := newLoadID(start)
	tr := trace.NewCollector(loadID, cfg.Pipeline(), start, jobOpts(opts), names)
	p.removeStaleTemps()
	rec, err := p.createRecord(loadID, names, opts, creds.APIKey())
	var noRecord error // why this load has no debug record
	if rd := (*recordDropped)(nil); errors.As(err, &rd) {
		noRecord, err = err, nil
	}
	if err != nil {
		return nil, err
	}
	observe := tr.Observe
	// Log files go to the record only: the trace counts API requests.
	storage := codefresh.NewStorageClient(p.HTTPClient, creds.AllowLinkLocal())
	if rec != nil {
		observe = func(ex codefresh.Exchange) { tr.Observe(ex); rec.Observe(ex) }
		storage.Observe(rec.Observe)
	}
	co := codefresh.OptionsFor(creds)
	co.Logger, co.RatePerSecond, co.RetryBaseWait, co.HTTPClient, co.Observe = p.logger(), p.ratePerSecond(), p.RetryBaseWait, p.HTTPClient, observe
	client, err := codefresh.New(co)
	if err != nil {
		rec.Close()
		return nil, fmt.Errorf("codefresh client: %w", err)
	}
	// A key the API echoes back, in any spelling, goes before anything is stored.
	red := secrets.NewRedactor(creds.APIKey())
	info, err := p.load(ctx, opts, start, loadID, names, client, storage, creds, tr, red)
	// Classified once the staging folder is gone, so a full disk is named by
	// the folder that remains (TMPDIR), not the one removed.
	err = projectfs.AsDiskFull(red.Error(err), p.destinationDir(), "")

	status := trace.LoadSucceeded
	switch {
	case err != nil && ctx.Err() != nil:
		status = trace.LoadCancelled
	case err != nil:
		status = trace.LoadFailed
	case info.Status == trace.LoadCompletedWithErrors:
		status = trace.LoadCompletedWithErrors
	}
	keep := opts.Record != "" || status == trace.LoadFailed || status == trace.LoadCompletedWithErrors
	// The record goes first: dropping it frees the space the trace needs.
	recordPath, recErr := p.finishRecord(rec, keep)
	if recErr == nil && keep {
		recErr = noRecord
	}
	if recErr != nil {
		p.logger().Warn("debug record not kept", "error", recErr)
	}
	kept := redactTrace(tr.Done(status, explain(err), recordPath), red)
	if recErr != nil {
		kept.RecordDropped = recErr.Error()
	}
	traceErr := p.saveTrace(kept)
	if traceErr != nil {
		p.logger().Warn("load trace not saved", "error", traceErr)
	}
	if info != nil {
		info.Record = recordPath
		info.Warnings = kept.Warnings
		for i := range info.Resources {
			info.Resources[i].Reason = red.Redact(info.Resources[i].Reason)
		}
	}
	if err != nil {
		if status == trace.LoadFailed {
			err = fmt.Errorf("%w (%s)", err, keptNote(recordPath, recErr, traceErr))
		}
		return &LoadInfo{LoadID: loadID, Status: status, Pipeline: cfg.Pipeline(), Record: recordPath, Started: start, Warnings: kept.Warnings}, err
	}
	if opts.Record == "" {
		recErr = nil // the project's own record of a load that did not fail: nothing was asked for
	}
	return info, recErr
}

// destinationDir is the folder a local destination writes in ("" for a
// server's, whose disk is the server's).
func (p *Project) destinationDir() string {
	if drv, ok := destinations.Lookup(p.Config.DestinationType()); ok && !drv.Local {
		return ""
	}
	return filepath.Dir(p.Config.DestinationPath(p.Dir))
}

// keptNote says what a failed load left to look at: only the files that
// were written.
func keptNote(recordPath string, recErr, traceErr error) string {
	var parts []string
	switch {
	case recordPath != "":
		parts = append(parts, "debug record of the requests kept at "+recordPath)
	case recErr != nil:
		parts = append(parts, recErr.Error())
	}
	if traceErr == nil {
		parts = append(parts, "`codefresh-mcp info` shows the trace")
	} else {
		parts = append(parts, "no trace saved: "+traceErr.Error())
	}
	return strings.Join(parts, "; ")
}

// load is Run after the client and the trace are set up: it extracts the
// resources into a stage and commits them to the destination.
func (p *Project) load(ctx context.Context, opts Options, start time.Time, loadID string, names []string, client *codefresh.Client, storage *codefresh.StorageClient, creds *secrets.Credentials, tr *trace.Collector, red *secrets.Redactor) (*LoadInfo, error) {
	cfg := &p.Config
	log := p.logger()
	dest, err := p.Destination()
	if err != nil {
		return nil, err
	}
	defer dest.Close()

	prevState, err := dest.LastState(ctx, cfg.Pipeline())
	if err != nil {
		return nil, fmt.Errorf("read last state: %w", err)
	}
	state, err := parseState(prevState, cfg.Pipeline())
	if err != nil {
		return nil, err
	}
	stored, err := dest.StoredSchema(ctx, sourceName)
	if err != nil {
		return nil, fmt.Errorf("read stored schema: %w", err)
	}
	schema := normalize.NewSchema(sourceName)
	if stored != nil {
		schema = stored.Clone()
	}
	stg, err := stage.OpenIn(ctx, "", cfg.Dataset()) // in the dataset schema: a first DuckDB load moves it into place
	if err != nil {
		return nil, fmt.Errorf("open staging area: %w", err)
	}
	defer stg.Close()

	deviate := func(d codefresh.Deviation) {
		log.Warn("the API differs from the catalog; worked around", "resource", d.Resource, "kind", d.Kind, "expected", d.Expected, "got", d.Got, "action", d.Action)
		tr.Deviate(d)
	}
	report := &progress{report: opts.Progress}
	norm := normalize.New(schema, normalize.Options{LoadID: loadID, MaxIdentifierLength: maxIdentifier(dest)})
	x := extract.Start(ctx, extract.Config{
		Client: client, Storage: storage, Normalizer: norm, Sink: stage.NewAsync(stg), Redactor: red,
		Cursors: state, Settings: p.extractSettings(), Resources: lookupAll(names),
		Lookback: cfg.Lookback(), Concurrency: p.concurrency(), MaxPages: opts.MaxPages, FullRefresh: opts.FullRefresh,
		OnDeviation: deviate,
		Progress: func(resource string, pages int, rows int64) {
			report.send(PhaseExtract, resource, pages, rows)
		},
	})
	defer x.Stop() // every sender has returned by then: Resource waits for its goroutines

	info := &LoadInfo{
		LoadID: loadID, Status: trace.LoadSucceeded, Pipeline: cfg.Pipeline(), Destination: dest.Kind(),
		Location: p.DestinationLocation(), Dataset: cfg.Dataset(), DryRun: opts.DryRun, Started: start,
	}
	var done []string
	failed := map[string]bool{}
	for _, name := range names {
		res, _ := codefresh.Lookup(name)
		if res.Parent != "" && failed[res.Parent] {
			ri := ResourceInfo{Name: name, Status: trace.StatusSkipped, Reason: "not read: its parent resource " + res.Parent + " failed"}
			info.Resources = append(info.Resources, ri)
			finish(tr, ri, nil)
			continue
		}
		schema.EnsureRoot(res.Name, res.Name, cfg.Disposition(res), res.PrimaryKey)
		pages, records, err := x.Resource(ctx, res)
		ri := ResourceInfo{Name: name, Pages: pages, Records: records}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("load cancelled while reading %s: %w", name, ctx.Err())
			}
			if skip, reason := skippable(err); skip && !cfg.Resources[name].Required {
				log.Warn("resource skipped", "resource", name, "reason", reason)
				ri.Status, ri.Reason = trace.StatusSkipped, reason
				info.Resources = append(info.Resources, ri)
				finish(tr, ri, explain(err))
				continue
			}
			if codefresh.IsStatus(err, http.StatusUnauthorized) {
				// `secrets set` alone does not help while a source that wins over it holds the bad key.
				err = fmt.Errorf("load %s: %w (the key came from %s, fingerprint %s: fix or unset it there; `codefresh-mcp secrets check` shows every source)",
					name, err, creds.Source, creds.Fingerprint)
				finish(tr, ResourceInfo{Name: name, Status: trace.StatusFailed, Pages: ri.Pages, Records: ri.Records}, explain(err))
				return nil, err
			}
			why := explain(err)
			ri.Status, ri.Reason, ri.Cause, ri.NextStep = trace.StatusFailed, err.Error(), why.Cause, why.NextStep
			finish(tr, ri, why)
			if cfg.Resources[name].Required || x.Failed() != nil {
				// A required resource, or the normalizer (shared by all) broke.
				return nil, fmt.Errorf("load %s: %w", name, err)
			}
			log.Warn("resource failed; the others go on", "resource", name, "cause", why.Cause, "error", err)
			info.Resources = append(info.Resources, ri)
			info.Status = trace.LoadCompletedWithErrors
			failed[name] = true
			continue
		}
		if opts.MaxPages > 0 && cfg.Disposition(res) == codefresh.Replace {
			// A quick look must not cut a replaced table down to its first pages.
			ri.Status, ri.Reason = trace.StatusPreviewed, "read with max_pages: a replace resource is committed only by a full read"
			info.Resources = append(info.Resources, ri)
			finish(tr, ri, nil)
			continue
		}
		ri.Status = trace.StatusLoaded
		info.Resources = append(info.Resources, ri)
		finish(tr, ri, nil)
		done = append(done, name)
	}
	if len(failed) > 0 && len(done) == 0 {
		var msgs []string
		for _, ri := range info.Resources {
			if ri.Status == trace.StatusFailed {
				msgs = append(msgs, ri.Reason)
			}
		}
		return nil, fmt.Errorf("every resource failed: %s", strings.Join(msgs, "; "))
	}
	if err := x.Stop(); err != nil {
		return nil, fmt.Errorf("stage rows: %w", err)
	}
	releaseGoHeap()
	if err := stg.Flush(ctx); err != nil {
		return nil, &CommitError{Step: "flush staging area", Err: err}
	}
	pkg := &destination.Package{
		LoadID: loadID, PipelineName: cfg.Pipeline(), Dataset: cfg.Dataset(),
		Schema: schema, Stage: stg, Resources: done,
	}
	if err := dedup(ctx, pkg, deviate); err != nil {
		return nil, err
	}
	info.Pages = x.Pages()
	info.Requests, info.Retries = int(client.Stats().Requests), int(client.Stats().Retries)
	info.NewTables, info.NewColumns = schemaChanges(stored, norm.NewColumns())
	if opts.DryRun {
		info.Tables = map[string]destination.TableStats{}
		for t, n := range stg.Counts() {
			info.Tables[t] = destination.TableStats{Inserted: n}
		}
		info.Duration = time.Since(start)
		return info, nil
	}
	rawState, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	rawState = red.RedactBytes(rawState)
	report.send(PhaseCommit, "", x.Pages(), x.Records())
	pkg.State = rawState
	stats, err := dest.Commit(ctx, pkg)
	if err != nil {
		// A commit writes the staged rows (several times over) into the destination.s folder.
		err = projectfs.AsDiskFull(err, p.destinationDir(), "committing "+projectfs.Bytes(stg.DiskSize())+" of staged rows")
		return nil, &CommitError{Step: "commit load " + loadID, Err: err}
	}
	info.Tables = stats.Tables
	info.Duration = time.Since(start)
	report.send(PhaseDone, "", x.Pages(), x.Records())
	return info, nil
}

// finish records a resource's outcome in the load's trace. An auth, scope or
// not-found error is the key's or the account's, not its last request's.
func finish(tr *trace.Collector, ri ResourceInfo, why *trace.Error) {
	blameLast := why != nil && why.Cause != trace.CauseAuth && why.Cause != trace.CauseScope && why.Cause != trace.CauseNotFound
	tr.Finish(ri.Name, ri.Status, ri.Pages, ri.Records, why, blameLast)
}

// dedup drops the staged records whose primary key a later record of the
// same resource repeats, and warns with the count: no table may hold a key
// twice, whatever its disposition.
func dedup(ctx context.Context, pkg *destination.Package, deviate func(codefresh.Deviation)) error {
	dups, err := pkg.Dedup(ctx)
	if err != nil {
		return &CommitError{Step: "flush staging area: drop repeated records", Err: err}
	}
	for _, d := range dups {
		noun := "records"
		if d.Rows == 1 {
			noun = "record"
		}
		keys := strings.Join(d.Keys, ", ")
		deviate(codefresh.Deviation{Resource: d.Table, Kind: codefresh.DeviationDuplicates,
			Expected: "each " + keys + " once in a listing",
			Got:      fmt.Sprintf("%d %s whose %s came again later in the same load (the listing shifted while it was read)", d.Rows, noun, keys),
			Action:   fmt.Sprintf("kept the last copy of each: %d %s dropped", d.Rows, noun)})
	}
	return nil
}

// schemaChanges splits the columns a load added into new tables and new
// columns of tables that existed before, so a first load reports tables, not
// hundreds of columns.
func schemaChanges(before *normalize.Schema, added []string) (tables, columns []string) {
	seen := map[string]bool{}
	for _, tc := range added {
		t, c, _ := strings.Cut(tc, ".")
		if before == nil || before.Table(t) == nil {
			if !seen[t] {
				seen[t] = true
				tables = append(tables, t)
			}
			continue
		}
		if !strings.HasPrefix(c, "_dlt_") {
			columns = append(columns, tc)
		}
	}
	return tables, columns
}

// maxIdentifier is the destination's name length limit (0: the normalizer's default).
func maxIdentifier(d destination.Destination) int {
	if l, ok := d.(destination.IdentifierLimiter); ok {
		return l.MaxIdentifierLength()
	}
	return 0
}

// skippable tells whether a resource error means "this key or account cannot
// read it" (403, 404), which skips the resource instead of failing the load.
func skippable(err error) (bool, string) {
	var ae *codefresh.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound) {
		return true, ae.Error()
	}
	return false, ""
}

// newLoadID makes a dlt-style load id: unix seconds with microseconds.
func newLoadID(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

func (p *Project) selectResources(want []string) ([]string, error) {
	enabled := p.Config.EnabledResources()
	if len(want) == 0 {
		return enabled, nil
	}
	var out []string
	for _, r := range codefresh.Catalog() { // catalog order: parents before details
		if !slices.Contains(want, r.Name) {
			continue
		}
		out = append(out, r.Name)
	}
	for _, w := range want {
		if _, ok := codefresh.Lookup(w); !ok {
			return nil, fmt.Errorf("no resource %q (see `codefresh-mcp endpoints`)", w)
		}
	}
	for _, name := range out {
		res, _ := codefresh.Lookup(name)
		if res.Parent != "" && !slices.Contains(out, res.Parent) {
			return nil, fmt.Errorf("%s reads one record per %s: load it with %s (add %q to the resources)", name, res.Parent, res.Parent, res.Parent)
		}
	}
	return out, nil
}

func (p *Project) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// progress reports where a load is. Calls are serialized: the normalizer
// goroutine and the loading one both report.
type progress struct {
	mu     sync.Mutex
	report func(Progress) // nil: nobody asked
}

func (pr *progress) send(phase Phase, resource string, pages int, rows int64) {
	if pr.report != nil {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		pr.report(Progress{Phase: phase, Resource: resource, Pages: pages, Rows: rows})
	}
}

// lookupAll is the catalog entries of names (every one known: selectResources checked).
func lookupAll(names []string) []codefresh.Resource {
	out := make([]codefresh.Resource, 0, len(names))
	for _, name := range names {
		res, _ := codefresh.Lookup(name)
		out = append(out, res)
	}
	return out
}

// extractSettings are the pipeline file's choices per resource, as extraction reads them.
func (p *Project) extractSettings() map[string]extract.Settings {
	out := make(map[string]extract.Settings, len(p.Config.Resources))
	for name, rc := range p.Config.Resources {
		out[name] = extract.Settings{Params: rc.Params, PageSize: rc.PageSize, InitialValue: rc.InitialValue,
			Logs: extract.LogSettings{Statuses: rc.Statuses, NewestPerPipeline: rc.NewestPerPipeline, TailLines: rc.TailLines, LineCap: rc.LineCap}}
	}
	return out
}

// releaseGoHeap hands the memory of an extraction's pages back to the OS
// once it is over, before DuckDB commits the stage and needs memory of its
// own: the collector would otherwise keep it until the process ends. Two
// collections: the first leaves the tape pool's tapes in its victim cache.
func releaseGoHeap() {
	runtime.GC()
	debug.FreeOSMemory()
}
