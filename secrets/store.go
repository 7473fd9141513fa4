package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
)

// Where a stored key went.
const (
	StoredKeyring     = SourceKeyring
	StoredSecretsTOML = SourceSecretsTOML
)

// StoreResult says where Store put the key, never the key.
type StoreResult struct {
	Where         string `json:"where"`                    // "keyring" or ".dlt/secrets.toml"
	Path          string `json:"path,omitempty"`           // the secrets.toml written
	BaseURL       string `json:"base_url"`                 // the profile the key belongs to
	BaseURLSource string `json:"base_url_source"`          // where that URL came from
	KeyringReason string `json:"keyring_reason,omitempty"` // why the keyring was not used
	Fingerprint   string `json:"fingerprint"`
}

// ValidateKey rejects what cannot be a Codefresh API key (empty, spaces,
// control characters, absurd length). Its errors never quote the key.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return errors.New("the API key is empty")
	case len(key) < minSecretLen:
		return fmt.Errorf("the API key is too short (%d characters)", len(key))
	case len(key) > 4096:
		return fmt.Errorf("the API key is too long (%d characters)", len(key))
	}
	for _, c := range key {
		if unicode.IsSpace(c) || unicode.IsControl(c) || c > unicode.MaxASCII {
			return errors.New("the API key contains spaces, control or non-ASCII characters")
		}
	}
	return nil
}

// Store saves key for the resolved base URL: in the OS keyring (service
// codefresh-mcp, user = base URL), or, where no keyring is available, in
// <project>/.dlt/secrets.toml with mode 0600, keeping the rest of that file.
func Store(ctx context.Context, opts Options, key string) (*StoreResult, error) {
	opts = opts.withDefaults()
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	baseURL, baseSource, err := ResolveBaseURL(opts)
	if err != nil {
		return nil, err
	}
	res := &StoreResult{BaseURL: baseURL, BaseURLSource: baseSource, Fingerprint: Fingerprint(key)}
	kerr := keyringSet(ctx, opts, baseURL, key)
	if kerr == nil {
		res.Where = StoredKeyring
		return res, nil
	}
	res.KeyringReason = NewRedactor(key).Redact(kerr.Error())
	if opts.ProjectDir == "" {
		return nil, fmt.Errorf("keyring unavailable (%s) and no project folder for .dlt/secrets.toml", res.KeyringReason)
	}
	// The file always keeps the owner's URL with the key: a base_url already
	// in the file may have come with a cloned repository, and the key and
	// URL of one secrets.toml go together.
	path, err := WriteSecretsTOML(opts.ProjectDir, key, baseURL)
	if err != nil {
		return nil, err
	}
	res.Where, res.Path = StoredSecretsTOML, path
	return res, nil
}

// DeleteOptions choose what Delete removes besides the keyring entry.
type DeleteOptions struct {
	SecretsTOML bool // also remove api_key from <project>/.dlt/secrets.toml
}

// DeleteResult reports what Delete did per place.
type DeleteResult struct {
	BaseURL string         `json:"base_url"`
	Places  []SourceReport `json:"places"` // Status: "deleted", "not_found", "unavailable", "skipped"
}

// Deletion statuses in DeleteResult.
const (
	StatusDeleted = "deleted"
	StatusSkipped = "skipped"
)

// Delete removes the keyring entry for the resolved base URL and, if asked,
// the api_key line of .dlt/secrets.toml. Missing entries are not errors.
func Delete(ctx context.Context, opts Options, dopts DeleteOptions) (*DeleteResult, error) {
	opts = opts.withDefaults()
	baseURL, _, err := ResolveBaseURL(opts)
	if err != nil {
		return nil, err
	}
	res := &DeleteResult{BaseURL: baseURL}
	kr := SourceReport{Source: SourceKeyring, Status: StatusDeleted, Reason: "user " + baseURL}
	switch err := keyringDelete(ctx, opts, baseURL); {
	case errors.Is(err, errKeyringNotFound):
		kr.Status, kr.Reason = StatusNotFound, "no entry for user "+baseURL
	case err != nil:
		kr.Status, kr.Reason = StatusUnavailable, err.Error()
	}
	res.Places = append(res.Places, kr)

	fr := SourceReport{Source: SourceSecretsTOML, Status: StatusSkipped, Reason: "not asked"}
	if dopts.SecretsTOML {
		removed, err := RemoveSecretsTOMLKey(opts.ProjectDir)
		switch {
		case err != nil:
			return res, err
		case removed:
			fr.Status, fr.Reason = StatusDeleted, ""
		default:
			fr.Status, fr.Reason = StatusNotFound, "no api_key in [sources.codefresh_source]"
		}
	}
	res.Places = append(res.Places, fr)
	return res, nil
}

const codefreshTable = "sources.codefresh_source"

// WriteSecretsTOML sets [sources.codefresh_source] api_key (and base_url when
// not empty) in <projectDir>/.dlt/secrets.toml, keeping every other line and
// comment, and leaves the file with mode 0600. It returns the file's path.
func WriteSecretsTOML(projectDir, key, baseURL string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	kv := [][2]string{{"api_key", key}}
	if baseURL != "" {
		kv = append(kv, [2]string{"base_url", baseURL})
	}
	path := SecretsTOMLPath(projectDir)
	err := editSecretsTOML(path, func(old []byte, tree map[string]any) ([]byte, map[string]any) {
		want := cloneTree(tree)
		table := subTable(want, true)
		for _, p := range kv {
			table[p[0]] = p[1]
		}
		return setTableKeys(old, kv), want
	})
	if err != nil {
		return "", NewRedactor(key).Error(err)
	}
	return path, nil
}

// RemoveSecretsTOMLKey deletes api_key from [sources.codefresh_source] in
// <projectDir>/.dlt/secrets.toml, keeping the rest. It reports whether there
// was one.
func RemoveSecretsTOMLKey(projectDir string) (bool, error) {
	path := SecretsTOMLPath(projectDir)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return false, fmt.Errorf("%s: %s; fix it by hand", path, tomlErrorReason(err))
	}
	if t := subTable(tree, false); t == nil || t["api_key"] == nil {
		return false, nil
	}
	err = editSecretsTOML(path, func(old []byte, tree map[string]any) ([]byte, map[string]any) {
		want := cloneTree(tree)
		delete(subTable(want, false), "api_key")
		return removeTableKey(old, "api_key"), want
	})
	return err == nil, err
}

// editSecretsTOML applies a line edit to the file and checks it by parsing:
// when the edited text does not decode to the wanted tree (an unusual layout
// the line edit misread), the wanted tree is written re-encoded instead,
// which keeps every value but drops comments.
func editSecretsTOML(path string, edit func(old []byte, tree map[string]any) ([]byte, map[string]any)) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	tree := map[string]any{}
	if _, err := toml.Decode(string(old), &tree); err != nil {
		return fmt.Errorf("%s: %s; fix it by hand, it was left unchanged", path, tomlErrorReason(err))
	}
	out, want := edit(old, tree)
	got := map[string]any{}
	if _, err := toml.Decode(string(out), &got); err != nil || !reflect.DeepEqual(got, want) {
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(want); err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		out = buf.Bytes()
	}
	return writeFile0600(path, out)
}

// writeFile0600 replaces path atomically with a 0600 file (its folder 0700
// when created), so that no reader sees a half-written or readable secret.
func writeFile0600(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".secrets-*.toml")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}

// subTable returns tree["sources"]["codefresh_source"], creating it if asked.
func subTable(tree map[string]any, create bool) map[string]any {
	cur := tree
	for _, k := range strings.Split(codefreshTable, ".") {
		next, ok := cur[k].(map[string]any)
		if !ok {
			if !create {
				return nil
			}
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
	return cur
}

// cloneTree copies the maps of a decoded TOML tree (leaves are shared).
func cloneTree(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = cloneTree(sub)
		}
		out[k] = v
	}
	return out
}

// tableSpan finds the [sources.codefresh_source] header line and the end
// (exclusive) of its body; header is -1 when the table has no header.
func tableSpan(lines []string) (header, end int) {
	header = -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "[") {
			continue
		}
		if header >= 0 {
			return header, i
		}
		name := t
		if j := strings.Index(name, "#"); j >= 0 {
			name = strings.TrimSpace(name[:j])
		}
		if !strings.HasPrefix(name, "[[") && strings.ReplaceAll(strings.Trim(name, "[]"), " ", "") == codefreshTable {
			header = i
		}
	}
	return header, len(lines)
}

// keyLine reports whether line assigns key (`key = ...`).
func keyLine(line, key string) bool {
	t := strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(t, key)
	return ok && strings.HasPrefix(strings.TrimSpace(rest), "=")
}

func encodeKV(key, value string) string {
	var buf bytes.Buffer
	// Encoding a one-entry map cannot fail; the encoder quotes and escapes.
	_ = toml.NewEncoder(&buf).Encode(map[string]string{key: value})
	return strings.TrimRight(buf.String(), "\n")
}

// setTableKeys replaces or adds `key = "value"` lines in the codefresh table,
// adding the table at the end when the file has none.
func setTableKeys(data []byte, kv [][2]string) []byte {
	lines := splitLines(data)
	header, end := tableSpan(lines)
	if header < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			lines = append(lines, "")
		}
		lines = append(lines, "["+codefreshTable+"]")
		header, end = len(lines)-1, len(lines)
	}
	for _, p := range kv {
		done := false
		for i := header + 1; i < end; i++ {
			if keyLine(lines[i], p[0]) {
				lines[i] = encodeKV(p[0], p[1])
				done = true
				break
			}
		}
		if done {
			continue
		}
		at := end // after the table's last non-blank line
		for at > header+1 && strings.TrimSpace(lines[at-1]) == "" {
			at--
		}
		lines = append(lines[:at], append([]string{encodeKV(p[0], p[1])}, lines[at:]...)...)
		end++
	}
	return joinLines(lines)
}

// removeTableKey drops the `key = ...` line from the codefresh table.
func removeTableKey(data []byte, key string) []byte {
	lines := splitLines(data)
	header, end := tableSpan(lines)
	for i := header + 1; header >= 0 && i < end; i++ {
		if keyLine(lines[i], key) {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	return joinLines(lines)
}

func splitLines(data []byte) []string {
	s := strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func joinLines(lines []string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}
