package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cfmcp/codefresh-mcp/pipeline"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
)

// ConfigurePipelineIn is configure_pipeline's input. With no field set it only reads.
type ConfigurePipelineIn struct {
	Enable       []string         `json:"enable,omitempty" jsonschema_description:"Resources to turn on (catalog names from list_endpoints)"`
	Disable      []string         `json:"disable,omitempty" jsonschema_description:"Resources to turn off"`
	Set          *pipeline.Config `json:"set,omitempty" jsonschema_description:"Fields to set, as a JSON merge patch: only the keys given change, null removes one. base_url cannot be set here. Example: {\"resources\":{\"builds\":{\"params\":{\"status\":\"error\"},\"write_disposition\":\"merge\"}}}"`
	Unset        []string         `json:"unset,omitempty" jsonschema_description:"Dot paths to remove so they fall back to defaults such as resources.builds.params.status or destination.path"`
	ValidateOnly bool             `json:"validate_only,omitempty" jsonschema_description:"Check the change and show the result without writing the file"`

	nulls []string // dot paths set's patch gives as null: removed when present
}

// UnmarshalJSON decodes the arguments and keeps the paths set gives as null,
// which the typed Config cannot tell from absent ones.
func (in *ConfigurePipelineIn) UnmarshalJSON(b []byte) error {
	type plain ConfigurePipelineIn
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(in)); err != nil {
		return err
	}
	var raw struct {
		Set map[string]any `json:"set"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	in.nulls = nullPaths("", raw.Set, nil)
	return nil
}

func nullPaths(prefix string, m map[string]any, out []string) []string {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			out = append(out, prefix+k)
		case map[string]any:
			out = nullPaths(prefix+k+".", t, out)
		}
	}
	sort.Strings(out)
	return out
}

// errBaseURL refuses base_url in a change: the API key goes to that URL, so
// only the key's owner chooses it, outside the agent.
var errBaseURL = errors.New("base_url cannot be changed with configure_pipeline: the API key is sent to the base URL, so the key's owner chooses it outside the agent; nothing was written")

const nextBaseURL = "ask the user to run, in their own terminal, `codefresh-mcp --base-url URL secrets set` to store a key for that URL, or `codefresh-mcp secrets trust-url URL` to trust it for the stored key"

// touchesBaseURL reports whether in sets, nulls or unsets base_url.
func touchesBaseURL(in ConfigurePipelineIn) bool {
	return in.Set != nil && in.Set.BaseURL != "" || slices.Contains(in.Unset, "base_url") || slices.Contains(in.nulls, "base_url")
}

// ConfigurePipelineOut is configure_pipeline's result.
type ConfigurePipelineOut struct {
	File    string          `json:"file"`
	Saved   bool            `json:"saved"`
	Changes []string        `json:"changes"` // "key: old -> new"
	Config  pipeline.Config `json:"config"`
	Enabled []string        `json:"enabled_resources"`
	Effect  Effective       `json:"effective"`
	Next    string          `json:"next"`
}

// Effective are the values a load uses once defaults fill what the file leaves out.
type Effective struct {
	Pipeline    string `json:"pipeline"`
	Dataset     string `json:"dataset"`
	Destination string `json:"destination"`
	Location    string `json:"location"`
}

func configurePipeline(d *Deps) Tool {
	return newTool(d, "configure_pipeline", "Read or change the pipeline file",
		"Read or change the project's pipeline file ("+pipeline.ConfigFile+"): which resources load, their query params and "+
			"write dispositions, incremental settings, the destination. Changes are validated before the file is written and "+
			"the answer lists what changed. Call with no arguments to read it. The API key never goes here.",
		Hints{ReadOnly: false, Destructive: true, Idempotent: true, OpenWorld: false},
		func(ctx context.Context, in ConfigurePipelineIn) (ConfigurePipelineOut, error) {
			if touchesBaseURL(in) {
				return ConfigurePipelineOut{}, withNext(errBaseURL, nextBaseURL)
			}
			text, before, err := pipeline.ReadConfig(d.ProjectDir)
			if err != nil {
				return ConfigurePipelineOut{}, withNext(err, "the file does not parse: fix the line named, or ask the user to, then call again")
			}
			after, removed, err := applyChanges(before, in)
			if err != nil {
				return ConfigurePipelineOut{}, err
			}
			if err := after.Validate(); err != nil {
				return ConfigurePipelineOut{}, withNext(err, "nothing was written; correct the value named (list_endpoints shows resource names)")
			}
			changes := diffConfig(before, after)
			var edited []byte
			if len(changes) > 0 {
				if edited, err = pipeline.EditConfig(text, before, after, removed); err != nil {
					return ConfigurePipelineOut{}, withNext(err, "nothing was written; correct the value named, or ask the user to make this change in "+pipeline.ConfigFile+" by hand")
				}
			}
			out := ConfigurePipelineOut{
				File:    filepath.Join(d.ProjectDir, pipeline.ConfigFile),
				Changes: changes,
				Config:  after,
				Enabled: after.EnabledResources(),
				Effect: Effective{
					Pipeline:    after.Pipeline(),
					Dataset:     after.Dataset(),
					Destination: after.DestinationType(),
					Location:    after.DestinationPath(d.ProjectDir),
				},
			}
			switch {
			case len(changes) == 0:
				out.Next = "no change; start_load with dry_run to try the pipeline"
			case in.ValidateOnly:
				out.Next = "valid; call again without validate_only to write it"
			default:
				if err := pipeline.WriteConfigFile(d.ProjectDir, edited); err != nil {
					return ConfigurePipelineOut{}, err
				}
				out.Saved = true
				out.Next = "saved; start_load with dry_run to try it"
			}
			return out, nil
		})
}

// applyChanges returns cfg with in's enable, disable, set and unset applied,
// in that order, and the dot paths removed.
func applyChanges(cfg pipeline.Config, in ConfigurePipelineIn) (pipeline.Config, []string, error) {
	doc, err := toMap(cfg)
	if err != nil {
		return cfg, nil, err
	}
	for _, names := range []struct {
		list []string
		on   bool
	}{{in.Enable, true}, {in.Disable, false}} {
		for _, n := range names.list {
			if _, ok := codefresh.Lookup(n); !ok {
				return cfg, nil, errorf("list_endpoints shows the resource names", "no resource %q in the catalog", n)
			}
			setPath(doc, []string{"resources", n, "enabled"}, names.on)
		}
	}
	if in.Set != nil {
		patch, err := toMap(*in.Set)
		if err != nil {
			return cfg, nil, err
		}
		merge(doc, patch)
	}
	removed := slices.Clone(in.Unset)
	for _, p := range in.Unset {
		if !unsetPath(doc, strings.Split(p, ".")) {
			return cfg, nil, errorf("configure_pipeline without arguments shows the file's keys", "unset: %q is not set in the file", p)
		}
	}
	for _, p := range in.nulls { // a merge patch's null removes what is there, if anything
		if unsetPath(doc, strings.Split(p, ".")) {
			removed = append(removed, p)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return cfg, nil, fmt.Errorf("encode pipeline config: %w", err)
	}
	var out pipeline.Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return cfg, nil, withNext(fmt.Errorf("pipeline config: %w", err), "configure_pipeline's schema lists the keys")
	}
	return out, removed, nil
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode pipeline config: %w", err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode pipeline config: %w", err)
	}
	return m, nil
}

// merge copies patch into doc, recursing into objects.
func merge(doc, patch map[string]any) {
	for k, v := range patch {
		pm, pok := v.(map[string]any)
		dm, dok := doc[k].(map[string]any)
		if pok && dok {
			merge(dm, pm)
			continue
		}
		doc[k] = v
	}
}

func setPath(doc map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := doc[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[k] = next
		}
		doc = next
	}
	doc[path[len(path)-1]] = v
}

func unsetPath(doc map[string]any, path []string) bool {
	for _, k := range path[:len(path)-1] {
		next, ok := doc[k].(map[string]any)
		if !ok {
			return false
		}
		doc = next
	}
	last := path[len(path)-1]
	if _, ok := doc[last]; !ok {
		return false
	}
	delete(doc, last)
	return true
}

// diffConfig lists the leaf values that differ, as "key: old -> new".
func diffConfig(a, b pipeline.Config) []string {
	fa, fb := map[string]string{}, map[string]string{}
	ma, _ := toMap(a)
	mb, _ := toMap(b)
	flatten("", ma, fa)
	flatten("", mb, fb)
	var keys []string
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	keys = slices.Compact(keys)
	out := []string{}
	for _, k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		if oka && okb && va == vb {
			continue
		}
		if !oka {
			va = "(default)"
		}
		if !okb {
			vb = "(default)"
		}
		out = append(out, k+": "+va+" -> "+vb)
	}
	return out
}

func flatten(prefix string, v any, out map[string]string) {
	m, ok := v.(map[string]any)
	if !ok {
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
		return
	}
	for k, child := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		flatten(key, child, out)
	}
}
