package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The user's own codefresh-mcp files (trusted origins, HTTP tokens) live in
// the user's configuration folder, outside every project.

// maxConfigBytes bounds a configuration file read.
const maxConfigBytes = 1 << 20

// configDir is Options.ConfigDir, else os.UserConfigDir()/codefresh-mcp.
func configDir(opts Options) (string, error) {
	if opts.ConfigDir != "" {
		return opts.ConfigDir, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("user configuration folder: %w", err)
	}
	return filepath.Join(base, "codefresh-mcp"), nil
}

// readConfigJSON decodes the JSON file at path into v, leaving v as it is
// when there is no file. A file too large or not JSON is an error naming it.
func readConfigJSON(path string, v any) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return fmt.Errorf("%s is larger than %d bytes: fix or delete it", path, maxConfigBytes)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not valid JSON (%v): fix or delete it", path, err)
	}
	return nil
}

// writeConfigJSON replaces path with v as indented JSON: mode 0600, folder
// 0700, atomically.
func writeConfigJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile0600(path, append(data, '\n'))
}
