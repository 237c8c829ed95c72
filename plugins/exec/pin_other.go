//go:build !linux

package exec

import "os"

// openExecutable opens path for reading: without O_PATH an execute-only
// file cannot be allowed.
func openExecutable(path string) (*os.File, error) { return os.Open(path) }

// pinnedPath is the path that executes the command's descriptor, handed
// to it as its file 3.
const pinnedPath = "/dev/fd/3"
