package extract

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// logBuild is what the choice of builds whose logs load needs of a build
// record.
type logBuild struct {
	id, progress, status, pipeline string
	created                        time.Time
}

// logBuildOf reads a builds record; ok is false when it names no progress.
func logBuildOf(rec codefresh.Record) (logBuild, bool) {
	str := rec.String
	b := logBuild{id: rec.ID(), progress: str("progress"), status: strings.ToLower(str("status")),
		pipeline: cmp.Or(str("serviceId"), str("pipelineName"))}
	b.created, _ = time.Parse(time.RFC3339Nano, str("created"))
	return b, b.id != "" && b.progress != ""
}

// chooseLogBuilds picks, from the builds this load read (a build read twice,
// listed then refreshed by id, counts as its last reading), those in one of
// the statuses, the newest per pipeline; ordered by pipeline, newest first.
func chooseLogBuilds(seen []logBuild, set LogSettings) []logBuild {
	last := map[string]int{}
	for i, b := range seen {
		last[b.id] = i
	}
	var picked []logBuild
	for i, b := range seen {
		if last[b.id] == i && slices.Contains(set.Statuses, b.status) {
			picked = append(picked, b)
		}
	}
	slices.SortStableFunc(picked, func(a, b logBuild) int {
		return cmp.Or(strings.Compare(a.pipeline, b.pipeline), b.created.Compare(a.created), strings.Compare(a.id, b.id))
	})
	out := picked[:0]
	n := 0
	for i, b := range picked {
		if i > 0 && picked[i-1].pipeline != b.pipeline {
			n = 0
		}
		if n < set.NewestPerPipeline {
			out = append(out, b)
		}
		n++
	}
	return out
}

// buildLogs (StrategyBuildLogs) loads the logs of the chosen builds of this
// load. Builds come from this load's builds records, not from the table:
// a finished build's log never changes, so each is read once, when its
// final status is loaded (an incremental load refreshes builds that were
// running). A build whose log is live or unreadable is skipped and counted
// in a warning; the resource fails only when every chosen build failed.
func (x *Extractor) buildLogs(ctx context.Context, res codefresh.Resource) error {
	set := x.cfg.Settings[res.Name].Logs.WithDefaults()
	set.Statuses = slices.Clone(set.Statuses)
	for i, s := range set.Statuses {
		set.Statuses[i] = strings.ToLower(s)
	}
	builds := chooseLogBuilds(x.logBuilds[res.Name], set)
	if x.cfg.Storage == nil {
		return errors.New("build logs: no storage client configured")
	}
	f := &LogFetcher{Client: x.cfg.Client, Storage: x.cfg.Storage, Redactor: x.cfg.Redactor, Limits: set}
	var (
		mu       sync.Mutex
		live     int
		unread   int
		firstErr error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(x.cfg.Concurrency, 1))
	for _, b := range builds {
		g.Go(func() error {
			steps, err := f.Fetch(gctx, b.progress)
			var le *LiveLogError
			switch {
			case err == nil:
				return x.emit(gctx, res, &codefresh.Page{Records: logRows(b.id, b.progress, steps)})
			case gctx.Err() != nil:
				return gctx.Err()
			case errors.As(err, &le):
				mu.Lock()
				live++
				mu.Unlock()
				return nil
			case codefresh.IsStatus(err, http.StatusUnauthorized), codefresh.IsStatus(err, http.StatusForbidden),
				codefresh.IsStatus(err, http.StatusTooManyRequests):
				return err // the key or the account, not this build: every other build would fail too
			}
			mu.Lock()
			unread++
			if firstErr == nil {
				firstErr = fmt.Errorf("build %s: %w", b.id, err)
			}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if live > 0 {
		x.deviate(codefresh.Deviation{Resource: res.Name, Kind: codefresh.DeviationLiveLogs,
			Expected: "a stored log file (location.type s3, gcs or another URL)",
			Got:      fmt.Sprintf("a live log (location.type firebase) for %d of %d builds", live, len(builds)),
			Action:   "skipped them: their logs load once the builds have finished"})
	}
	if unread > 0 && unread == len(builds)-live {
		return firstErr
	}
	if unread > 0 {
		x.deviate(codefresh.Deviation{Resource: res.Name, Kind: codefresh.DeviationLogsUnread,
			Expected: "each chosen build's log file",
			Got:      fmt.Sprintf("%d of %d builds unreadable; first: %v", unread, len(builds), firstErr),
			Action:   "skipped them; the other builds' logs are loaded"})
	}
	return nil
}
