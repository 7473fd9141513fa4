package dataset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DefaultStaleAfter is the age from which a table's data is called stale
// when neither the pipeline file nor the caller says otherwise.
const DefaultStaleAfter = 24 * time.Hour

// FreshnessOptions tune Freshness; zero fields take defaults.
type FreshnessOptions struct {
	StaleAfter time.Duration    // DefaultStaleAfter when zero
	Now        func() time.Time // time.Now when nil (tests inject a clock)
	// Info, when set, is the reader's Info already read by the caller
	// (an overview of the dataset has it), so it is not read again.
	Info *Info
	// Cache, when set, keeps what was read of the dataset while its
	// _dlt_loads is unchanged (see FreshnessCache); nil reads it every call.
	Cache *FreshnessCache
}

// TableFreshness is how current one table's data is.
type TableFreshness struct {
	Table string `json:"table"`
	// AsOf is when the newest completed load whose rows the table holds
	// (its root table's, for a child table) ended: its _dlt_loads.inserted_at.
	AsOf   *time.Time `json:"as_of,omitempty"`
	LoadID string     `json:"load_id,omitempty"`
	Age    string     `json:"age,omitempty"` // e.g. "3h20m", "2d4h"
	Stale  bool       `json:"stale,omitempty"`
	// NeverLoaded says no completed load wrote the table: a zero read from
	// it means nothing.
	NeverLoaded bool   `json:"never_loaded,omitempty"`
	Warning     string `json:"warning,omitempty"`
}

// Warned tells whether any table of fr carries a warning.
func Warned(fr []TableFreshness) bool {
	return slices.ContainsFunc(fr, func(f TableFreshness) bool { return f.Warning != "" })
}

// Freshness tells, per table read, the as-of time of its data, its age and
// a warning when it is older than opts.StaleAfter or was never loaded. It
// works on every Reader: it reads Info and runs one SELECT of its own
// (with opts.Cache, only one SELECT over _dlt_loads while no load committed).
// System tables (_dlt_*) are left out; a name may be qualified with the
// dataset ("codefresh_data.builds").
//
// Example (a tool that read builds and build_steps):
//
//	fr, err := dataset.Freshness(ctx, r, []string{"builds", "build_steps"},
//		dataset.FreshnessOptions{StaleAfter: cfg.FreshnessWarning()})
//	if dataset.Warned(fr) { /* say so next to the answer */ }
//
// Why the newest _dlt_load_id present in the table, joined to _dlt_loads:
// it is committed in the same transaction as the rows, so it never names a
// load that failed, and it is right for both write dispositions. A replace
// load rewrites every row, so the newest id is the last load of the
// resource; a merge (incremental) load re-reads a look-back window and
// rewrites at least the newest records, so its id lands in the table too.
// _dlt_loads alone cannot tell which tables a load wrote (a load of one
// resource would make every table look fresh), and load traces live only in
// the project folder, are pruned to the last few loads and can exist for a
// load that never committed. A child table takes its root table's load: its
// rows are replaced with their parents', and an empty child of a loaded
// root is a real zero, not a missing table.
func Freshness(ctx context.Context, r Reader, tables []string, opts FreshnessOptions) ([]TableFreshness, error) {
	if !slices.ContainsFunc(tables, func(t string) bool { return !isSystem(t[strings.LastIndex(t, ".")+1:]) }) {
		return nil, nil // only bookkeeping tables, or none
	}
	key, cached := opts.Cache.key(ctx, r)
	var entry *freshnessEntry
	if cached {
		entry = opts.Cache.lookup(key)
	}
	info := opts.Info
	var readInfo *Info // read here, so worth keeping
	if info == nil && entry != nil {
		info = entry.info
	}
	if info == nil {
		var err error
		info, err = r.Info(ctx)
		if errors.Is(err, ErrNoData) {
			info, cached = &Info{}, false
		} else if err != nil {
			return nil, fmt.Errorf("freshness: %w", err)
		}
		readInfo = info
	}
	known := map[string]TableSummary{}
	for _, t := range info.Tables {
		known[t.Name] = t
	}
	rootOf := func(name string) string {
		for seen := 0; known[name].Parent != "" && seen < len(known); seen++ {
			name = known[name].Parent
		}
		return name
	}
	var names, roots []string
	for _, t := range tables {
		name := bareTableName(t, info.Dataset)
		if isSystem(name) || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
		if ts, ok := known[rootOf(name)]; ok && ts.Rows > 0 && !slices.Contains(roots, ts.Name) {
			roots = append(roots, ts.Name)
		}
	}
	newest := map[string]LoadRef{}
	var missing []string
	for _, root := range roots {
		if f, ok := entry.load(root); !ok {
			missing = append(missing, root)
		} else if f.found {
			newest[root] = f.ref
		}
	}
	var read map[string]loadFact
	if _, ok := known["_dlt_loads"]; ok && len(missing) > 0 {
		found, err := newestLoads(ctx, r, info.Dataset, missing)
		if err != nil {
			return nil, err
		}
		read = map[string]loadFact{}
		for _, root := range missing {
			ref, ok := found[root]
			read[root] = loadFact{ref: ref, found: ok}
			if ok {
				newest[root] = ref
			}
		}
	}
	if cached && (readInfo != nil || read != nil) {
		opts.Cache.store(key, readInfo, read)
	}
	return assessFreshness(names, known, rootOf, newest, opts), nil
}

// newestLoads finds, per table, the newest completed load whose rows it
// holds, in one statement through the reader's sandbox.
func newestLoads(ctx context.Context, r Reader, ds string, tables []string) (map[string]LoadRef, error) {
	q := QuoteIdent(ds)
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = fmt.Sprintf(`SELECT * FROM (SELECT %s AS table_name, l.load_id, l.inserted_at FROM %s._dlt_loads l
			WHERE l.status = 0 AND l.load_id IN (SELECT _dlt_load_id FROM %s.%s)
			ORDER BY l.inserted_at DESC, l.load_id DESC LIMIT 1) AS f%d`, quoteLiteral(t), q, q, QuoteIdent(t), i)
	}
	res, err := r.Query(ctx, strings.Join(parts, " UNION ALL "), QueryOptions{MaxRows: len(tables) + 1, MaxBytes: 1 << 20, NoProvenance: true})
	if err != nil {
		return nil, fmt.Errorf("freshness: newest loads of %s: %w", strings.Join(tables, ", "), err)
	}
	out := map[string]LoadRef{}
	for _, row := range res.Rows {
		table, _ := row[0].(string)
		id, _ := row[1].(string)
		at, _ := row[2].(string)
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, fmt.Errorf("freshness: load %s of %s: inserted_at %q: %w", id, table, at, err)
		}
		out[table] = LoadRef{Table: table, LoadID: id, LoadedAt: t}
	}
	return out, nil
}

// assessFreshness turns each table's newest load into its as-of, age and warning.
func assessFreshness(names []string, known map[string]TableSummary, rootOf func(string) string, newest map[string]LoadRef, opts FreshnessOptions) []TableFreshness {
	staleAfter := opts.StaleAfter
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	at := now()
	out := make([]TableFreshness, 0, len(names))
	for _, name := range names {
		f := TableFreshness{Table: name}
		root := rootOf(name)
		ref, ok := newest[root]
		_, exists := known[name]
		switch {
		case !exists:
			f.NeverLoaded = true
			f.Warning = "never loaded: the dataset has no table " + name
		case !ok && known[root].Rows == 0:
			f.NeverLoaded = true
			f.Warning = "never loaded: no completed load wrote rows to " + root
		case !ok:
			f.NeverLoaded = true
			f.Warning = "no completed load in _dlt_loads wrote the rows of " + root
		default:
			asOf := ref.LoadedAt.UTC()
			age := max(at.Sub(asOf), 0)
			f.AsOf, f.LoadID, f.Age = &asOf, ref.LoadID, FormatAge(age)
			if age > staleAfter {
				f.Stale = true
				f.Warning = fmt.Sprintf("stale: data as of %s is %s old, older than the %s freshness threshold",
					asOf.Format(time.RFC3339), f.Age, FormatAge(staleAfter))
			}
		}
		out = append(out, f)
	}
	return out
}

// FormatAge writes a duration in its two largest units, a zero second unit
// left out: "2d4h", "2d", "3h20m", "42m", "15s".
func FormatAge(d time.Duration) string {
	d = d.Round(time.Second)
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	for i, u := range units[:len(units)-1] {
		if d < u.size {
			continue
		}
		s := fmt.Sprintf("%d%s", d/u.size, u.name)
		if next := units[i+1]; d%u.size >= next.size {
			s += fmt.Sprintf("%d%s", d%u.size/next.size, next.name)
		}
		return s
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
