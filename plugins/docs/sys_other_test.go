//go:build !unix

package docs_test

import "testing"

func mkfifo(t *testing.T, dir string) string {
	t.Skip("no FIFOs here")
	return ""
}

func devOf(t *testing.T, path string) uint64 {
	t.Skip("no device numbers here")
	return 0
}
