package stage

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidFile names the process that owns a staging folder, so that a later
// Open can remove folders left by a killed process (SIGKILL runs no cleanup).
const pidFile = "owner.pid"

// claim records this process as the owner of a staging folder.
func claim(dir string) error {
	return os.WriteFile(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// removeLeftovers deletes staging folders under dir whose owner process is
// gone, and unclaimed ones older than a day. Best effort: errors are ignored,
// a leftover only costs disk.
func removeLeftovers(dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "cfmcp-stage-") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if abandoned(path) {
			os.RemoveAll(path)
		}
	}
}

func abandoned(path string) bool {
	b, err := os.ReadFile(filepath.Join(path, pidFile))
	if err != nil {
		info, serr := os.Stat(path)
		return errors.Is(err, os.ErrNotExist) && serr == nil && time.Since(info.ModTime()) > 24*time.Hour
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	// Signal 0 checks existence; EPERM means alive but someone else's.
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
