package duckfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A process that finds a file locked says so with a marker beside it,
// <file>.wait-<pid>-<random>, until it gets in or gives up. Holders that keep
// a file open between calls (dataset.Handles) let it go when they see one,
// so a load's commit is not starved by a server's readers. A marker whose
// process is gone (killed while waiting) is ignored and removed.
const waitSuffix = ".wait-"

// announceWait leaves this call's marker and returns its remover.
func announceWait(path string) func() {
	var b [6]byte
	rand.Read(b[:])
	marker := fmt.Sprintf("%s%s%d-%s", path, waitSuffix, os.Getpid(), hex.EncodeToString(b[:]))
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return func() {} // a read-only folder: the holders' idle timeout still frees the file
	}
	f.Close()
	return func() { os.Remove(marker) }
}

// Waiting tells whether a live process waits for the file at path.
func Waiting(path string) bool {
	markers, _ := filepath.Glob(globEscape(path) + waitSuffix + "*")
	for _, m := range markers {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(m, path+waitSuffix), "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && alive(pid) {
			return true
		}
		os.Remove(m) // stale
	}
	return false
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// globEscape quotes the pattern characters of a literal path.
func globEscape(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}
