//go:build linux || darwin || freebsd

package projectfs

import "syscall"

func statfs(dir string) Space {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Space{}
	}
	bsize := int64(st.Bsize) // its type differs between systems
	return Space{Free: int64(st.Bavail) * bsize, Total: int64(st.Blocks) * bsize}
}
