package stage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestOpenRemovesFoldersOfDeadProcesses(t *testing.T) {
	dir := t.TempDir()
	// A process that has exited: its pid is free (reuse within the test is unlikely).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` command:", err)
	}
	dead := filepath.Join(dir, "cfmcp-stage-dead")
	alive := filepath.Join(dir, "cfmcp-stage-alive")
	fresh := filepath.Join(dir, "cfmcp-stage-unclaimed")
	other := filepath.Join(dir, "someone-else")
	for _, d := range []string{dead, alive, fresh, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dead, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)
	os.WriteFile(filepath.Join(alive, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600)

	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for path, want := range map[string]bool{dead: false, alive: true, fresh: true, other: true} {
		_, err := os.Stat(path)
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(path), got, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(s.Path()), pidFile)); err != nil || string(b) != strconv.Itoa(os.Getpid()) {
		t.Errorf("new stage not claimed: %q %v", b, err)
	}
}
