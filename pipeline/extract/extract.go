// Package extract reads a load's resources from Codefresh into the stage.
// Each resource is read by the strategy its catalog entry names (one file
// each: pages.go, perparent.go, buildwindows.go, buildlogs.go); fetchers of any number of
// goroutines hand pages to one normalizer goroutine through a bounded queue
// (feed.go), which writes the rows beside it.
package extract

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/jsonpage"
	"github.com/cfmcp/codefresh-mcp/pipeline/normalize"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// Cursor is an incremental cursor: the highest value loaded, and the records
// loaded while not yet final (running builds), fetched again next time.
type Cursor struct {
	InitialValue string   `json:"initial_value,omitempty"`
	LastValue    string   `json:"last_value,omitempty"`
	PendingIDs   []string `json:"pending_ids,omitempty"`
}

// Cursors are the incremental cursors of the pipeline state, which an
// incremental strategy reads and moves.
type Cursors interface {
	Cursor(resource, field string) Cursor
	SetCursor(resource, field string, c Cursor)
}

// Settings are the pipeline file's choices for one resource.
type Settings struct {
	Params       map[string]string // query parameters
	PageSize     int               // 0: the catalog's
	InitialValue string            // start of the incremental cursor of a first load (YYYY-MM-DD, validated)
	Logs         LogSettings       // build_logs: which builds, how much of each
}

// Config is what an extraction reads with and writes to.
type Config struct {
	Client     *codefresh.Client
	Storage    *codefresh.StorageClient // log files (build_logs): no key
	Normalizer *normalize.Normalizer
	Sink       RowSink           // writes rows into the stage beside the normalizer (stage.Async)
	Redactor   *secrets.Redactor // the key, in every spelling, out of every record
	Cursors    Cursors
	Settings   map[string]Settings // by resource name; absent: none
	// Resources are the load's resources; a detail resource finds its
	// parent's values among them.
	Resources   []codefresh.Resource
	Lookback    time.Duration // how far before the cursor incremental listings look again
	Concurrency int           // requests at once (date windows, detail records)
	MaxPages    int           // pages per resource, 0 = all
	FullRefresh bool          // ignore the incremental cursors
	// OnDeviation is told each way the API answered differently from the
	// catalog and what was done instead.
	OnDeviation func(codefresh.Deviation)
	// MapPages decodes every page into maps, as loads did before tapes
	// (the differential tests compare the two).
	MapPages bool
	// Progress is told of each resource started and each page normalized,
	// with the pages and rows so far; from more than one goroutine.
	Progress func(resource string, pages int, rows int64)
}

// RowSink takes the normalizer's rows; Wait returns once every row written
// so far is stored, Close once all are.
type RowSink interface {
	normalize.Sink
	Wait(ctx context.Context) error
	Close() error
}

// Extractor is one load's extraction. Pages arrive from several goroutines;
// one goroutine (normalizeLoop) owns the normalizer, the sink and parent,
// fed through queue.
type Extractor struct {
	cfg Config

	queue    chan queued
	room     *semaphore.Weighted // bytes of JSON the queued pages may hold (queueBytes)
	loopDone chan struct{}
	stop     func()
	errMu    sync.Mutex
	normErr  error
	parent   map[string][]string // detail resource -> its parents' values seen this load (path parameters)
	// logBuilds: build_logs-like resource -> the builds records seen this load.
	logBuilds map[string][]logBuild
	// details lists, per parent resource, the detail resources of this
	// load: looked up once, not per record.
	details map[string][]codefresh.Resource

	tapes   jsonpage.TapePool // pages' tapes, back once normalized
	pages   atomic.Int64
	records atomic.Int64
}

// queuePages is how many decoded pages may wait for the normalizer: a few
// per request in flight, so that a pause of the normalizer (a stage lane
// writing a row group out) does not stop every fetcher. A page's tape takes
// several times its JSON, so pages waiting here are most of a load's Go heap.
func queuePages(concurrency int) int {
	return max(16, 4*concurrency)
}

// queueBytes bounds the JSON of the pages waiting too: pages of builds
// with a large pipeline YAML are tens of megabytes each. Pages of usual
// records (about 0.5 MB) never reach it at queuePages.
const queueBytes = 32 << 20

// Start starts the normalizer goroutine of a load; Stop ends it.
func Start(ctx context.Context, cfg Config) *Extractor {
	x := &Extractor{
		cfg:       cfg,
		parent:    map[string][]string{},
		logBuilds: map[string][]logBuild{},
		details:   map[string][]codefresh.Resource{},
		queue:     make(chan queued, queuePages(cfg.Concurrency)),
		room:      semaphore.NewWeighted(queueBytes),
		loopDone:  make(chan struct{}),
	}
	for _, res := range cfg.Resources {
		if res.Parent != "" {
			x.details[res.Parent] = append(x.details[res.Parent], res)
		}
	}
	go func() { x.normalizeLoop(ctx); close(x.loopDone) }()
	x.stop = sync.OnceFunc(func() { close(x.queue); <-x.loopDone })
	return x
}

// Stop ends the normalizer goroutine once it has taken every page and
// returns its error, if any. Call it when no Resource runs: each waits for
// its fetchers. Safe to call more than once.
func (x *Extractor) Stop() error {
	x.stop()
	return x.Failed()
}

// Pages and Records count what was normalized so far, all resources.
func (x *Extractor) Pages() int     { return int(x.pages.Load()) }
func (x *Extractor) Records() int64 { return x.records.Load() }

// Resource reads one resource into the stage by its catalog strategy and
// returns the pages and records it added.
func (x *Extractor) Resource(ctx context.Context, res codefresh.Resource) (pages int, records int64, err error) {
	pagesBefore, recsBefore := x.pages.Load(), x.records.Load()
	defer func() {
		pages = int(x.pages.Load() - pagesBefore)
		records = x.records.Load() - recsBefore
	}()
	x.progress(res.Name)
	switch res.Strategy {
	case codefresh.StrategyPerParent:
		err = x.perParent(ctx, res)
	case codefresh.StrategyBuildWindows:
		err = x.buildWindows(ctx, res)
	case codefresh.StrategyBuildLogs:
		err = x.buildLogs(ctx, res)
	default:
		err = x.listing(ctx, res)
	}
	// Every page of this resource is normalized before the next one starts
	// (details read their parents' values) and before the counts are taken.
	if derr := x.drain(ctx); err == nil {
		err = derr
	}
	return pages, records, err
}

// pageOptions builds the request options of a resource from the pipeline file.
func (x *Extractor) pageOptions(res codefresh.Resource) codefresh.PageOptions {
	rs := x.cfg.Settings[res.Name]
	q := url.Values{}
	for k, v := range rs.Params {
		q.Set(k, v)
	}
	return codefresh.PageOptions{Query: q, PageSize: rs.PageSize, MaxPages: x.cfg.MaxPages, OnDeviation: x.deviate, Tapes: x.tapePool()}
}

// tapePool is the pool pages are decoded onto; nil: into maps.
func (x *Extractor) tapePool() *jsonpage.TapePool {
	if x.cfg.MapPages {
		return nil
	}
	return &x.tapes
}

// deviate records a workaround of the client or the listing.
func (x *Extractor) deviate(d codefresh.Deviation) {
	if x.cfg.OnDeviation != nil {
		x.cfg.OnDeviation(d)
	}
}

func (x *Extractor) progress(resource string) {
	if x.cfg.Progress != nil {
		x.cfg.Progress(resource, int(x.pages.Load()), x.records.Load())
	}
}
