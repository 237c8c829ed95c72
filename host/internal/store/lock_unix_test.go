package store

import (
	"os"
	"syscall"
)

// tryLock takes and releases the exclusive lock bbolt uses, without waiting.
func tryLock(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return err
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
