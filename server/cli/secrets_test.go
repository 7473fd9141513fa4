package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh"
	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/pipeline/credcheck"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

const secretsCanary = "cfk-CANARY-7f3a9d1e5b"

// secretsWorld isolates one CLI test: temp HOME and project, no credential
// variables, a mocked keyring reachable through a fake session bus address.
type secretsWorld struct {
	t       *testing.T
	home    string
	project string
	outputs []string // everything any command printed or returned
}

func newSecretsWorld(t *testing.T) *secretsWorld {
	t.Helper()
	w := &secretsWorld{t: t, home: t.TempDir(), project: t.TempDir()}
	t.Setenv("HOME", w.home)
	for _, k := range []string{secrets.EnvAPIKey, secrets.EnvDltAPIKey, secrets.EnvBaseURL, secrets.EnvDltBaseURL,
		secrets.EnvCFConfig, "WORKSPACE_FOLDER_PATHS"} {
		t.Setenv(k, "")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/test-bus")
	keyring.MockInit()
	return w
}

// run executes the root command in-process with stdin, returning stdout,
// stderr (cobra's and the app's files) and the error.
func (w *secretsWorld) run(stdin, baseURL string, args ...string) (string, string, error) {
	w.t.Helper()
	dir := w.t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		w.t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer outF.Close()
	defer errF.Close()
	a := &app{stdout: outF, stderr: errF}
	root := newRootCmd(a)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"--project", w.project, "--base-url", baseURL}, args...))
	runErr := root.ExecuteContext(context.Background())
	fileOut, _ := os.ReadFile(outF.Name())
	fileErr, _ := os.ReadFile(errF.Name())
	stdout, stderr := out.String()+string(fileOut), errb.String()+string(fileErr)
	w.outputs = append(w.outputs, stdout, stderr)
	if runErr != nil {
		w.outputs = append(w.outputs, runErr.Error())
	}
	return stdout, stderr, runErr
}

// assertNoCanary checks every output so far, and every file under HOME and
// the project except allowed (the secrets file the key was stored in).
func (w *secretsWorld) assertNoCanary(allowed ...string) {
	w.t.Helper()
	for i, s := range w.outputs {
		if strings.Contains(s, secretsCanary) {
			w.t.Fatalf("canary in output %d: %s", i, s)
		}
	}
	for _, root := range []string{w.home, w.project} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || slices.Contains(allowed, p) {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(secretsCanary)) {
				w.t.Fatalf("canary written to %s", p)
			}
			return nil
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

func startSim(t *testing.T, key string, scopes []string) string {
	t.Helper()
	sim := cfsim.New(cfsim.Config{Seed: 7, Pipelines: 3, Builds: 12, Projects: 2, Users: 2, AuditEvents: 3, APIKey: key, Scopes: scopes})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return srv.URL + "/api"
}

func scopesWithout(drop string) []string {
	var out []string
	for _, s := range codefresh.Scopes() {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func capStatus(t *testing.T, res *credcheck.Result, name string) string {
	t.Helper()
	for _, c := range res.Capabilities {
		if c.Resource == name {
			return c.Status
		}
	}
	t.Fatalf("no capability %s", name)
	return ""
}

func TestSecretsCLICanary(t *testing.T) {
	w := newSecretsWorld(t)
	base := startSim(t, secretsCanary, scopesWithout("build:read"))
	fp := secrets.Fingerprint(secretsCanary)

	// set: piped stdin -> keyring.
	out, _, err := w.run(secretsCanary+"\n", base, "secrets", "set")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "in the OS keyring") || !strings.Contains(out, fp) || !strings.Contains(out, base) {
		t.Fatalf("set output: %s", out)
	}

	// check --json: source keyring, builds need build:read, pipelines load.
	out, _, err = w.run("", base, "secrets", "check", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res credcheck.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Status != credcheck.CheckOK || res.Source != secrets.SourceKeyring || res.Fingerprint != fp || res.BaseURL != base {
		t.Fatalf("check: %+v", res)
	}
	if got := capStatus(t, &res, "builds"); got != "missing_scope:build:read" {
		t.Fatalf("builds: %s", got)
	}
	if got := capStatus(t, &res, "builds_by_id"); got != "missing_scope:build:read" {
		t.Fatalf("builds_by_id: %s", got)
	}
	if got := capStatus(t, &res, "pipelines"); got != credcheck.CapLoadable {
		t.Fatalf("pipelines: %s", got)
	}
	if res.User == nil || res.User.Name == "" || res.User.ActiveAccount == "" {
		t.Fatalf("user %+v", res.User)
	}

	// Human output.
	out, _, err = w.run("", base, "secrets", "check")
	if err != nil || !strings.Contains(out, "missing_scope:build:read") || !strings.Contains(out, "keyring") {
		t.Fatalf("text check: %v\n%s", err, out)
	}

	// 401: the simulator accepts another key.
	other := startSim(t, "cfk-SOMEONE-ELSE-000111", nil)
	if err := keyring.Set(secrets.KeyringService, other, secretsCanary); err != nil {
		t.Fatal(err)
	}
	out, _, err = w.run("", other, "secrets", "check", "--json")
	if err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("401 must fail the command: %v", err)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Status != credcheck.CheckKeyInvalid ||
		!strings.Contains(res.Message, "codefresh-mcp secrets set") {
		t.Fatalf("401 result %v %+v", err, res)
	}

	// A key with no scope at all: the whole matrix is 403.
	none := startSim(t, secretsCanary, []string{"none:none"})
	if err := keyring.Set(secrets.KeyringService, none, secretsCanary); err != nil {
		t.Fatal(err)
	}
	out, _, err = w.run("", none, "secrets", "check", "--json")
	if err != nil {
		t.Fatal(err)
	}
	res = credcheck.Result{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if capStatus(t, &res, "pipelines") != "missing_scope:pipeline:read" || res.Summary[credcheck.CapMissingScope] == 0 {
		t.Fatalf("403 matrix: %s", out)
	}

	// Debug logging on: still no key in stderr.
	if _, _, err := w.run("", base, "--log-level", "debug", "secrets", "check"); err != nil {
		t.Fatal(err)
	}

	// The key as an argument is refused without being echoed.
	if _, _, err := w.run("", base, "secrets", "set", secretsCanary); err == nil || !strings.Contains(err.Error(), "takes no arguments") {
		t.Fatalf("argument accepted: %v", err)
	}
	w.assertNoCanary()

	// delete, then check: no key (non-zero exit).
	out, _, err = w.run("", base, "secrets", "delete")
	if err != nil || !strings.Contains(out, "keyring: deleted") {
		t.Fatalf("delete: %v %s", err, out)
	}
	if _, _, err := w.run("", base, "secrets", "check"); err == nil || !strings.Contains(err.Error(), "no API key") {
		t.Fatalf("check without key: %v", err)
	}
	w.assertNoCanary()
}

func TestSecretsCLIWithoutKeyring(t *testing.T) {
	w := newSecretsWorld(t)
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	base := startSim(t, secretsCanary, nil)
	file := filepath.Join(w.project, ".dlt", "secrets.toml")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("[destination.postgres]\npassword = \"pw\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, _, err := w.run(secretsCanary+"\n", base, "secrets", "set")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "keyring is unavailable") || !strings.Contains(out, file) || !strings.Contains(out, "0600") {
		t.Fatalf("set output: %s", out)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secrets.toml: %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(file)
	if !strings.Contains(string(data), `password = "pw"`) || !strings.Contains(string(data), secretsCanary) {
		t.Fatalf("secrets.toml lost content:\n%s", data)
	}

	out, _, err = w.run("", base, "secrets", "check", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res credcheck.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Source != secrets.SourceSecretsTOML || res.Status != credcheck.CheckOK {
		t.Fatalf("%v %s", err, out)
	}
	for _, s := range res.Sources {
		if s.Source == secrets.SourceKeyring && s.Status != secrets.StatusUnavailable {
			t.Fatalf("keyring report %+v", s)
		}
	}
	w.assertNoCanary(file)

	out, _, err = w.run("", base, "secrets", "delete", "--secrets-toml")
	if err != nil || !strings.Contains(out, ".dlt/secrets.toml: deleted") {
		t.Fatalf("delete: %v %s", err, out)
	}
	data, _ = os.ReadFile(file)
	if strings.Contains(string(data), secretsCanary) || !strings.Contains(string(data), `password = "pw"`) {
		t.Fatalf("after delete:\n%s", data)
	}
	w.assertNoCanary()
}

func TestReadSecretKey(t *testing.T) {
	var prompt bytes.Buffer
	k, err := readSecretKey(strings.NewReader("  "+secretsCanary+"\r\nsecond line\n"), &prompt)
	if err != nil || k != secretsCanary || prompt.Len() != 0 {
		t.Fatalf("got ok=%v err=%v prompt=%q", k == secretsCanary, err, prompt.String())
	}
	if _, err := readSecretKey(strings.NewReader("\n"), &prompt); err == nil || !strings.Contains(err.Error(), "no key on stdin") {
		t.Fatalf("empty stdin: %v", err)
	}
}
