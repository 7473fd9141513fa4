package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestVmHWM(t *testing.T) {
	kb, ok := vmHWM("/proc/self/status")
	if !ok || kb < 1024 {
		t.Fatalf("own peak RSS = %d kB, %v; a Go test binary holds more than 1 MB", kb, ok)
	}
	status := filepath.Join(t.TempDir(), "status")
	os.WriteFile(status, []byte("Name:\tx\nVmPeak:\t  999 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 100 kB\n"), 0o600)
	if kb, ok := vmHWM(status); !ok || kb != 51234 {
		t.Fatalf("vmHWM = %d, %v; want 51234", kb, ok)
	}
	if _, ok := vmHWM(filepath.Join(t.TempDir(), "gone")); ok {
		t.Fatal("a missing status file gave a value")
	}
}
