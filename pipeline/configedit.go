package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/cfmcp/codefresh-mcp/pipeline/tomledit"
)

// newConfigText starts a pipeline file that does not exist yet.
const newConfigText = "# codefresh-mcp pipeline file; schema: `codefresh-mcp schema`\n"

// EditConfig turns text, the pipeline file that decodes to before, into the
// text of after, editing it in place: the tables and keys of remove (dot
// paths) go, then each value that after adds or changes is written on its
// own line. Comments, order and every other line stay as the user wrote
// them. The result is decoded and validated again, and must give after.
func EditConfig(text []byte, before, after Config, remove []string) ([]byte, error) {
	if text == nil {
		text = []byte(newConfigText)
	}
	doc, err := tomledit.Parse(string(text))
	if err != nil {
		return nil, editError(fmt.Errorf("scan %s: %w", ConfigFile, err))
	}
	for _, p := range remove {
		if _, err := doc.Delete(strings.Split(p, ".")); err != nil {
			return nil, editError(fmt.Errorf("remove %s: %w", p, err))
		}
	}
	old, err := configValues(before)
	if err != nil {
		return nil, err
	}
	next, err := configValues(after)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, kept := next[k]; !kept {
			if _, err := doc.Delete(old[k].path); err != nil {
				return nil, editError(fmt.Errorf("remove %s: %w", k, err))
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(next)) {
		if v, had := old[k]; had && reflect.DeepEqual(v.value, next[k].value) {
			continue
		}
		path := next[k].path
		if err := doc.Set(tableOf(path), path, next[k].value); err != nil {
			return nil, editError(fmt.Errorf("set %s: %w", k, err))
		}
	}
	out := []byte(doc.String())
	got, err := ParseConfig(ConfigFile, out)
	if err != nil {
		return nil, err
	}
	if gotValues, err := configValues(got); err != nil || !reflect.DeepEqual(gotValues, next) {
		return nil, editError(errors.New("the edited text would not hold the requested values"))
	}
	return out, nil
}

// ConfigEditError is an edit the pipeline file's text does not allow in
// place (a form of TOML the editor does not change); nothing is written.
type ConfigEditError struct{ Err error }

func (e *ConfigEditError) Error() string {
	return ConfigFile + ": cannot edit in place: " + e.Err.Error()
}
func (e *ConfigEditError) Unwrap() error { return e.Err }

func editError(err error) error { return &ConfigEditError{Err: err} }

// SaveConfig writes cfg into dir's pipeline file, editing it in place.
func SaveConfig(dir string, cfg Config) error {
	text, before, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	out, err := EditConfig(text, before, cfg, nil)
	if err != nil {
		return err
	}
	return WriteConfigFile(dir, out)
}

// WriteConfigFile replaces dir's pipeline file with data atomically (a
// temporary file renamed over it), keeping the file's mode.
func WriteConfigFile(dir string, data []byte) error {
	path := filepath.Join(dir, ConfigFile)
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+ConfigFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("write pipeline file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write pipeline file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write pipeline file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write pipeline file %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write pipeline file: %w", err)
	}
	return nil
}

// configValue is one value of the file and its key's parts.
type configValue struct {
	path  []string
	value any
}

// configValues lists cfg's values as the file holds them (typed as TOML
// decodes them), keyed by their joined path; zero values are left out.
func configValues(cfg Config) (map[string]configValue, error) {
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode pipeline config: %w", err)
	}
	var m map[string]any
	if _, err := toml.Decode(b.String(), &m); err != nil {
		return nil, fmt.Errorf("decode encoded pipeline config: %w", err)
	}
	out := map[string]configValue{}
	var walk func(path []string, v any)
	walk = func(path []string, v any) {
		if t, ok := v.(map[string]any); ok {
			for k, e := range t {
				walk(append(slices.Clone(path), k), e)
			}
			return
		}
		out[strings.Join(path, "\x00")] = configValue{path: path, value: v}
	}
	walk(nil, m)
	return out, nil
}

// tableOf is the table a new key goes in: [destination], [incremental] or
// [resources.NAME]; top-level keys have none.
func tableOf(path []string) []string {
	switch {
	case len(path) > 2 && path[0] == "resources":
		return path[:2]
	case len(path) > 1:
		return path[:1]
	}
	return nil
}
