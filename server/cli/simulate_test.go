package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cfmcp/codefresh-mcp/pipeline/codefresh/cfsim"
	"github.com/cfmcp/codefresh-mcp/secrets"
)

// runSimulate starts `simulate` in-process and returns its base URL (the
// first stdout line), a stop function that returns the command's error, and
// a reader of everything it printed.
func runSimulate(t *testing.T, args ...string) (base string, stop func() error, printed func() string) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: pw, stderr: errF}
	root := newRootCmd(a)
	root.SetArgs(append([]string{"simulate", "--addr", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	lines := make(chan string, 1)
	var rest strings.Builder
	restDone := make(chan struct{})
	go func() {
		br := bufio.NewReader(pr)
		first, _ := br.ReadString('\n')
		lines <- first
		_, _ = io.Copy(&rest, br)
		close(restDone)
	}()
	select {
	case first := <-lines:
		base = strings.TrimSpace(first)
	case err := <-done:
		t.Fatalf("simulate exited early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("simulate printed no base URL")
	}
	stop = func() error {
		cancel()
		err := <-done
		pw.Close()
		<-restDone
		return err
	}
	printed = func() string {
		b, _ := os.ReadFile(errF.Name())
		return base + "\n" + rest.String() + string(b)
	}
	return base, stop, printed
}

func getStatus(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSimulateKeyFromEnvNeverPrinted(t *testing.T) {
	const canary = "cfk-CANARY-7f3a9d1e5b"
	t.Setenv(secrets.EnvAPIKey, canary)
	base, stop, printed := runSimulate(t, "--builds", "40", "--seed", "3", "--scopes", "build:read")
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/api") {
		t.Fatalf("first stdout line %q is not the base URL", base)
	}
	if got := getStatus(t, base+"/workflow?limit=5", canary); got != 200 {
		t.Fatalf("env key: %d", got)
	}
	if got := getStatus(t, base+"/projects", canary); got != 403 {
		t.Fatalf("--scopes build:read, /projects: %d", got)
	}
	if got := getStatus(t, base+"/user", cfsim.DemoAPIKey); got != 401 {
		t.Fatalf("demo key accepted while the env key is set: %d", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("simulate returned %v after cancel", err)
	}
	if out := printed(); strings.Contains(out, canary) {
		t.Fatalf("the key was printed:\n%s", out)
	}
}

func TestSimulateDemoKeyAndFaults(t *testing.T) {
	t.Setenv(secrets.EnvAPIKey, "")
	base, stop, printed := runSimulate(t, "--builds", "10", "--rate-429", "1", "--retry-after", "3s")
	req, _ := http.NewRequest(http.MethodGet, base+"/pipelines", nil)
	req.Header.Set("Authorization", cfsim.DemoAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("--rate-429 1: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out := printed(); !strings.Contains(out, cfsim.DemoAPIKey) {
		t.Fatalf("demo key not printed:\n%s", out)
	}
}
