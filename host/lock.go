package host

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the data dir's lock when the queue is in a database: the
// embedded file's own lock does that job otherwise. Two hosts writing one
// dir's job logs would mix them up.
const lockFile = "host.lock"

// lockDataDir takes the data dir's lock for this process, or says which
// dir is in use.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another host (it holds %s); give each host a data dir of its own", dir, path)
	}
	return f, nil
}
