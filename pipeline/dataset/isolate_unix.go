//go:build unix

package dataset

import (
	"fmt"
	"syscall"
)

// limitAddressSpace makes an allocation past n bytes fail in this process.
func limitAddressSpace(n int64) error {
	if n <= 0 {
		return nil
	}
	lim := &syscall.Rlimit{Cur: uint64(n), Max: uint64(n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, lim); err != nil {
		return fmt.Errorf("query worker: limit address space to %d MiB: %w", n>>20, err)
	}
	return nil
}
