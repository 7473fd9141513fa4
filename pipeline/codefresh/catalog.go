// Package codefresh holds the endpoint catalog (data, not code per endpoint)
// and the REST client that reads those endpoints.
package codefresh

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paginator names how a listing is paged.
type Paginator string

const (
	// PaginatorNone: one request returns everything (bare arrays, single objects).
	PaginatorNone Paginator = "none"
	// PaginatorOffset: limit/offset; the listing ends on a short page.
	PaginatorOffset Paginator = "offset"
	// PaginatorPageCursor: page from 1 with paginationReset=true on page 1 and one
	// X-Pagination-Session-Id per listing; pages strictly sequential (builds, images).
	PaginatorPageCursor Paginator = "page_cursor"
	// PaginatorPage: mongoose-style page/limit (audit); ends on an empty or short page.
	PaginatorPage Paginator = "page"
)

// Strategy names how a load extracts a resource.
type Strategy string

const (
	// StrategyPages: one listing, page after page, as the Paginator says.
	// An entry that names no strategy gets this one.
	StrategyPages Strategy = "pages"
	// StrategyPerParent: one request (or listing) per value its parent
	// resource's records give (Parent, ParentParam, ParentField).
	StrategyPerParent Strategy = "per_parent"
	// StrategyBuildWindows: incremental on IncrementalCursor, listed in
	// parallel date windows (startDate/endDate, day granularity) of a
	// page-cursor listing, and the records not yet final at the last load
	// read again through the "<name>_by_id" resource.
	StrategyBuildWindows Strategy = "build_windows"
	// StrategyBuildLogs: per chosen build of its parent, the progress record
	// at Path, then the log file its signed location.url names, read
	// without the key from the storage host (extract/buildlogs.go).
	StrategyBuildLogs Strategy = "build_logs"
)

// Write dispositions, as dlt names them.
const (
	Replace = "replace"
	Append  = "append"
	Merge   = "merge"
)

// ActiveAccountID is the ParentField value meaning "the id of the key's
// active account, read from the /user record" (see ParentValues).
const ActiveAccountID = "$active_account_id"

// Resource is one loadable Codefresh endpoint. Everything the client, the
// pipeline and the tools need to know about an endpoint is here, as data.
type Resource struct {
	Name   string `json:"name"`   // table name, e.g. "builds"
	Method string `json:"method"` // always GET
	Path   string `json:"path"`   // real path under the base URL, e.g. "/workflow", "/builds/{id}"
	// DataSelector is where the records are: a dot path ("workflows.docs",
	// "docs", "projects"), "$" for a bare array, "" for a single object.
	DataSelector string `json:"data_selector"`
	// AltSelectors are other shapes public sources report; the client accepts them too.
	AltSelectors      []string  `json:"alt_selectors,omitempty"`
	Paginator         Paginator `json:"paginator"`
	Strategy          Strategy  `json:"strategy"` // how a load extracts it
	PageSize          int       `json:"page_size,omitempty"`
	PrimaryKey        []string  `json:"primary_key"`                  // normalized column names, e.g. ["metadata__id"]
	IncrementalCursor string    `json:"incremental_cursor,omitempty"` // e.g. "created"
	Parent            string    `json:"parent,omitempty"`             // detail endpoints: parent resource name
	ParentParam       string    `json:"parent_param,omitempty"`       // path parameter filled with the parent's id
	// ParentField is the path in a parent record (Prepare's path syntax) whose
	// value fills ParentParam; empty means RecordID of the parent record;
	// ActiveAccountID means the active account of the /user record.
	ParentField string `json:"parent_field,omitempty"`
	// Scope is the API-key scope the endpoint needs, e.g. "build:read";
	// empty means any valid key may read it (/user).
	Scope string `json:"scope"`
	// SecretFields are paths dropped before anything is stored. Path syntax:
	// dot-separated object keys; "*" matches every key of an object or every
	// element of a list; a named key applied to a list applies to each element.
	// E.g. "event-data.secret", "exposedVariables.*.value".
	SecretFields []string `json:"secret_fields,omitempty"`
	// KeyedObjects are plain dot paths (no "*") to objects keyed by name, turned
	// into ordered lists of {"name": key, ...value} (pipeline spec.steps).
	KeyedObjects []string `json:"keyed_objects,omitempty"`
	// RowsFrom, when set, is a dot path to a list in the last record of a
	// response; its elements are the resource's rows, each given the parent
	// value in ParentColumn and its position in OrderColumn (build_steps: the
	// steps of a build's last state revision).
	RowsFrom         string            `json:"rows_from,omitempty"`
	ParentColumn     string            `json:"parent_column,omitempty"`
	OrderColumn      string            `json:"order_column,omitempty"`
	WriteDisposition string            `json:"write_disposition"`
	Default          bool              `json:"default"`          // in the default load set
	Params           map[string]string `json:"params,omitempty"` // fixed query params sent on every request
	Description      string            `json:"description"`
	DocsURL          string            `json:"docs_url,omitempty"`
}

// Catalog returns every resource in a stable order (seed resources first).
// The result is a deep copy: callers may change it freely.
func Catalog() []Resource {
	out := make([]Resource, len(catalog))
	for i, r := range catalog {
		out[i] = r.clone()
	}
	return out
}

// Lookup finds a resource by name.
func Lookup(name string) (Resource, bool) {
	for _, r := range catalog {
		if r.Name == name {
			return r.clone(), true
		}
	}
	return Resource{}, false
}

// DefaultResources names the resources a load reads when nothing is configured.
func DefaultResources() []string {
	var out []string
	for _, r := range catalog {
		if r.Default {
			out = append(out, r.Name)
		}
	}
	return out
}

// Scopes lists every distinct non-empty scope the catalog uses, sorted.
func Scopes() []string {
	var out []string
	for _, r := range catalog {
		if r.Scope != "" && !slices.Contains(out, r.Scope) {
			out = append(out, r.Scope)
		}
	}
	slices.Sort(out)
	return out
}

// IsDetail reports whether the resource is read once per parent record.
func (r Resource) IsDetail() bool { return r.Parent != "" }

// Rows turns the records of one response into the resource's rows: the
// records themselves, or with RowsFrom the list it names in the last record.
// parentValue is the parent id the request was made for.
func (r Resource) Rows(parentValue string, recs []map[string]any) []map[string]any {
	if r.RowsFrom == "" {
		return recs
	}
	if len(recs) == 0 {
		return nil
	}
	var list []any
	if vals := lookupPath(recs[len(recs)-1], splitPath(r.RowsFrom)); len(vals) == 1 {
		list, _ = vals[0].([]any)
	}
	out := make([]map[string]any, 0, len(list))
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if r.ParentColumn != "" {
			m[r.ParentColumn] = parentValue
		}
		if r.OrderColumn != "" {
			m[r.OrderColumn] = json.Number(strconv.Itoa(i))
		}
		out = append(out, m)
	}
	return out
}

// PathParams lists the {name} placeholders in the resource path, in order.
func (r Resource) PathParams() []string {
	var out []string
	for _, seg := range strings.Split(r.Path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, seg[1:len(seg)-1])
		}
	}
	return out
}

// BuildPath fills the {name} placeholders of the resource path, escaping each
// value as one path segment (a pipeline name "proj/pipe" becomes "proj%2Fpipe").
func (r Resource) BuildPath(params map[string]string) (string, error) {
	segs := strings.Split(r.Path, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := seg[1 : len(seg)-1]
		v, ok := params[name]
		if !ok || v == "" {
			return "", fmt.Errorf("resource %s: path parameter %q is missing", r.Name, name)
		}
		segs[i] = url.PathEscape(v)
	}
	return strings.Join(segs, "/"), nil
}

// Match reports whether a concrete path (no base URL, no query) is this
// resource's path, and returns the placeholder values.
func (r Resource) Match(path string) (map[string]string, bool) {
	want := strings.Split(strings.Trim(r.Path, "/"), "/")
	got := strings.Split(strings.Trim(path, "/"), "/")
	if len(want) != len(got) {
		return nil, false
	}
	params := map[string]string{}
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if got[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(got[i])
			if err != nil {
				return nil, false
			}
			params[w[1:len(w)-1]] = v
			continue
		}
		if got[i] != w {
			return nil, false
		}
	}
	return params, true
}

// ResourceForPath finds the catalog resource serving a concrete path. Literal
// paths win over patterns ("/pipelines/names" is not "/pipelines/{name}").
func ResourceForPath(path string) (Resource, map[string]string, bool) {
	var best *Resource
	var bestParams map[string]string
	for i := range catalog {
		p, ok := catalog[i].Match(path)
		if !ok {
			continue
		}
		if best == nil || len(p) < len(bestParams) {
			best, bestParams = &catalog[i], p
		}
	}
	if best == nil {
		return Resource{}, nil, false
	}
	return best.clone(), bestParams, true
}

// ParentValues gives the values that fill ParentParam for one parent record
// (several when ParentField goes through a list); empty when there are none.
func (r Resource) ParentValues(parent map[string]any) []string {
	return r.ParentValuesOf(MapRecord(parent))
}

// ParentValuesOf is ParentValues for a Record.
func (r Resource) ParentValuesOf(parent Record) []string {
	switch r.ParentField {
	case "":
		if id := parent.ID(); id != "" {
			return []string{id}
		}
		return nil
	case ActiveAccountID:
		if id := activeAccountID(parent.Map()); id != "" {
			return []string{id}
		}
		return nil
	}
	path := splitPath(r.ParentField)
	var top any
	if path[0] == "*" {
		top = parent.Map()
	} else { // only the field the path starts with
		top = map[string]any{path[0]: parent.Field(path[0])}
	}
	var out []string
	for _, v := range lookupPath(top, path) {
		if s := scalarString(v); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RecordID is a record's identity: "id", else "_id", else "metadata.id".
func RecordID(rec map[string]any) string { return MapRecord(rec).ID() }

// activeAccountID reads the active account's id from a /user record: the
// entry of "account" whose name is "activeAccountName" (id, else _id).
func activeAccountID(user map[string]any) string {
	name, _ := user["activeAccountName"].(string)
	accounts, _ := user["account"].([]any)
	for _, a := range accounts {
		acc, ok := a.(map[string]any)
		if !ok || name == "" || acc["name"] != name {
			continue
		}
		if s := scalarString(acc["id"]); s != "" {
			return s
		}
		return scalarString(acc["_id"])
	}
	return ""
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64, int, int64, bool:
		return fmt.Sprint(x)
	}
	return ""
}

func (r Resource) clone() Resource {
	c := r
	if c.Method == "" {
		c.Method = "GET" // the catalog holds only GETs; entries leave it implicit
	}
	if c.Strategy == "" {
		c.Strategy = StrategyPages // most entries are plain listings and leave it implicit
	}
	c.AltSelectors = slices.Clone(r.AltSelectors)
	c.PrimaryKey = slices.Clone(r.PrimaryKey)
	c.SecretFields = slices.Clone(r.SecretFields)
	c.KeyedObjects = slices.Clone(r.KeyedObjects)
	if r.Params != nil {
		c.Params = make(map[string]string, len(r.Params))
		for k, v := range r.Params {
			c.Params[k] = v
		}
	}
	return c
}
