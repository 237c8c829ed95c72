package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The socket directory: each Manager makes one below Config.SocketDir for
// go-plugin's unix sockets, and removes it at Close. A host killed with
// SIGKILL cannot, so the name records its owner —
// "bhp<pid>.<starttime>.<n>", in base 36 to keep socket paths short — and
// the next host removes those whose owner is gone. Directories named by
// earlier versions ("bhp" and digits only) record no owner and are left
// alone.

// socketDirPrefix starts the name of every socket directory.
const socketDirPrefix = "bhp"

// makeSocketDir makes this Manager's socket directory in parent, after
// removing the ones hosts that are gone left there.
func makeSocketDir(parent string) (string, error) {
	cleanStaleSocketDirs(parent)
	pid := os.Getpid()
	name := fmt.Sprintf("%s%s.%s.%s", socketDirPrefix, strconv.FormatInt(int64(pid), 36),
		strconv.FormatUint(startTime(pid), 36), strconv.FormatUint(containerSeq.Add(1), 36))
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// cleanStaleSocketDirs removes the socket directories in parent whose
// owner process is gone, and returns how many.
func cleanStaleSocketDirs(parent string) int {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), socketDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		parts := strings.Split(rest, ".")
		if len(parts) != 3 {
			continue
		}
		pid, err1 := strconv.ParseInt(parts[0], 36, 64)
		st, err2 := strconv.ParseUint(parts[1], 36, 64)
		if err1 != nil || err2 != nil || pid <= 0 || processAlive(int(pid), st) {
			continue
		}
		if os.RemoveAll(filepath.Join(parent, e.Name())) == nil {
			n++
		}
	}
	return n
}
