package dataset

import (
	"fmt"
	"testing"
)

// The cache holds a handful of datasets, the least recently used leaving
// first, and one state per dataset: a new state replaces the old.
func TestFreshnessCacheBounded(t *testing.T) {
	c := &FreshnessCache{}
	key := func(n int, state string) freshnessKey {
		return freshnessKey{identity: fmt.Sprint("ds", n), state: state}
	}
	fact := map[string]loadFact{"builds": {ref: LoadRef{Table: "builds", LoadID: "1"}, found: true}}
	for n := range freshnessCacheEntries {
		c.store(key(n, "s1"), &Info{Dataset: fmt.Sprint("ds", n)}, fact)
	}
	if c.lookup(key(0, "s1")) == nil { // ds0 becomes the most recently used
		t.Fatal("ds0 not kept")
	}
	c.store(key(freshnessCacheEntries, "s1"), &Info{}, fact)
	if len(c.entries) != freshnessCacheEntries || c.lookup(key(1, "s1")) != nil || c.lookup(key(0, "s1")) == nil {
		t.Fatalf("after one more dataset: %d entries, ds1 kept %t, ds0 kept %t", len(c.entries), c.lookup(key(1, "s1")) != nil, c.lookup(key(0, "s1")) != nil)
	}

	// A fact added in the same state joins the entry; another state replaces it.
	c.store(key(0, "s1"), nil, map[string]loadFact{"pipelines": {}})
	if e := c.lookup(key(0, "s1")); e == nil || e.info.Dataset != "ds0" || len(e.loads) != 2 {
		t.Fatalf("ds0 after a new root table: %+v", e)
	}
	c.store(key(0, "s2"), nil, map[string]loadFact{"pipelines": {}})
	if e := c.lookup(key(0, "s2")); e == nil || e.info != nil || len(e.loads) != 1 || c.lookup(key(0, "s1")) != nil {
		t.Fatalf("ds0 in a new state: %+v", e)
	}
	if len(c.entries) != freshnessCacheEntries {
		t.Fatalf("%d entries", len(c.entries))
	}
}
