// Package codefresh holds the endpoint catalog (data, not code per endpoint)
// and the REST client that reads those endpoints.
package codefresh

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

// Write dispositions, as dlt names them.
const (
	Replace = "replace"
	Append  = "append"
	Merge   = "merge"
)

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
	AltSelectors      []string          `json:"alt_selectors,omitempty"`
	Paginator         Paginator         `json:"paginator"`
	PageSize          int               `json:"page_size,omitempty"`
	PrimaryKey        []string          `json:"primary_key"`                  // normalized column names, e.g. ["metadata__id"]
	IncrementalCursor string            `json:"incremental_cursor,omitempty"` // e.g. "created"
	Parent            string            `json:"parent,omitempty"`             // detail endpoints: parent resource name
	ParentParam       string            `json:"parent_param,omitempty"`       // path parameter filled with the parent's id
	Scope             string            `json:"scope"`                        // API-key scope, e.g. "build:read"
	SecretFields      []string          `json:"secret_fields,omitempty"`      // paths dropped before anything is stored
	KeyedObjects      []string          `json:"keyed_objects,omitempty"`      // objects keyed by name turned into ordered lists (spec.steps)
	WriteDisposition  string            `json:"write_disposition"`
	Default           bool              `json:"default"`          // in the default load set
	Params            map[string]string `json:"params,omitempty"` // fixed query params sent on every request
	Description       string            `json:"description"`
	DocsURL           string            `json:"docs_url,omitempty"`
}
