package main

import "testing"

// TestSoftLimit: the load command runs under the lower soft limit; every
// other command, and a command line whose first word is a flag's value,
// under the server's.
func TestSoftLimit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int64
	}{
		{[]string{"load", "--resources", "builds"}, 64 << 20},
		{[]string{"--verbose", "load"}, 64 << 20},
		{[]string{"serve"}, 128 << 20},
		{[]string{"query", "load"}, 128 << 20},
		{[]string{"--project", "load-dir", "load"}, 128 << 20},
		{nil, 128 << 20},
	} {
		if got := softLimit(tc.args); got != tc.want {
			t.Errorf("softLimit(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}
