package exec

import (
	"os"

	"golang.org/x/sys/unix"
)

// openExecutable opens path without reading rights (O_PATH), which is
// enough to stat and execute it and works on execute-only files.
func openExecutable(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// pinnedPath is the path that executes the command's descriptor, handed
// to it as its file 3: the kernel resolves it to the checked file, and a
// script's interpreter reads the script through it.
const pinnedPath = "/proc/self/fd/3"
