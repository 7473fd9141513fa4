package dataset

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Identified is a Reader that names the dataset it reads without reading
// it: two readers with the same identity read the same tables.
type Identified interface {
	// DatasetIdentity is where the dataset lives (its kind and file,
	// folder or server) and its name.
	DatasetIdentity() (where, dataset string)
}

// freshnessCacheEntries bounds a FreshnessCache: a server reads one
// project's dataset, so a handful of entries is plenty.
const freshnessCacheEntries = 8

// FreshnessCache keeps, per dataset, what Freshness reads of it (Info and
// the newest load of each root table asked about) for as long as
// _dlt_loads is unchanged. Every load commits its _dlt_loads row in the
// same transaction as its rows, so an unchanged _dlt_loads means unchanged
// tables: a call then runs one statement, over _dlt_loads, instead of
// reading the dataset. Ages and warnings are still judged on every call.
// Its owner is whoever keeps readers open across calls (a server); the
// zero value is ready to use and safe for concurrent use.
type FreshnessCache struct {
	mu      sync.Mutex
	entries []*freshnessEntry // least recently used first
}

// freshnessEntry is what one dataset's Freshness read while _dlt_loads was
// in state. Its info and loads are never changed once stored: an entry
// grows by replacement, so a reader of a snapshot needs no lock.
type freshnessEntry struct {
	identity string
	state    string
	info     *Info
	loads    map[string]loadFact // per root table
}

// loadFact is a root table's newest completed load, or that it has none.
type loadFact struct {
	ref   LoadRef
	found bool
}

// freshnessKey names a dataset in one state of its _dlt_loads.
type freshnessKey struct {
	identity, state string
}

// key reads the state of r's _dlt_loads in one statement through the
// reader's sandbox. ok is false when r cannot be cached: it names no
// dataset, or the statement fails (no _dlt_loads yet): Freshness then
// reads everything, as without a cache.
func (c *FreshnessCache) key(ctx context.Context, r Reader) (freshnessKey, bool) {
	id, ok := r.(Identified)
	if c == nil || !ok {
		return freshnessKey{}, false
	}
	where, ds := id.DatasetIdentity()
	// The state is read before the facts it keys: a load committing in
	// between makes the facts newer than their key, and the next call,
	// reading the new state, reads them again.
	res, err := r.Query(ctx, fmt.Sprintf(`SELECT count(*) AS loads, max(load_id) AS newest_load, max(inserted_at) AS newest_end FROM %s._dlt_loads`, QuoteIdent(ds)),
		QueryOptions{MaxRows: 1, MaxBytes: 1 << 10, NoProvenance: true})
	if err != nil || len(res.Rows) != 1 {
		return freshnessKey{}, false
	}
	return freshnessKey{identity: where + "\x00" + ds, state: fmt.Sprint(res.Rows[0]...)}, true
}

// lookup is the entry stored under k, or nil; it becomes the most recently used.
func (c *FreshnessCache) lookup(k freshnessKey) *freshnessEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.entries, func(e *freshnessEntry) bool { return e.identity == k.identity })
	if i < 0 || c.entries[i].state != k.state {
		return nil
	}
	e := c.entries[i]
	c.entries = append(slices.Delete(c.entries, i, i+1), e)
	return e
}

// store merges info (when set) and loads into the entry of k, replacing an
// entry of the dataset in another state, and evicts the least recently
// used entry beyond the bound.
func (c *FreshnessCache) store(k freshnessKey, info *Info, loads map[string]loadFact) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := &freshnessEntry{identity: k.identity, state: k.state, info: info, loads: map[string]loadFact{}}
	if i := slices.IndexFunc(c.entries, func(e *freshnessEntry) bool { return e.identity == k.identity }); i >= 0 {
		if old := c.entries[i]; old.state == k.state {
			next.info = cmp.Or(info, old.info)
			maps.Copy(next.loads, old.loads)
		}
		c.entries = slices.Delete(c.entries, i, i+1)
	}
	maps.Copy(next.loads, loads)
	c.entries = append(c.entries, next)
	if n := len(c.entries) - freshnessCacheEntries; n > 0 {
		c.entries = slices.Delete(c.entries, 0, n)
	}
}

// load is the fact kept for root table, if any; e may be nil.
func (e *freshnessEntry) load(root string) (loadFact, bool) {
	if e == nil {
		return loadFact{}, false
	}
	f, ok := e.loads[root]
	return f, ok
}
