package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Listen opens the control socket at socketPath for Serve.
//
// Whoever can connect to the socket controls the host (and, through the
// exec plugin, runs commands as its user), so Listen insists on privacy: it
// creates the socket's directory with mode 0700 if needed, refuses a
// directory or an existing socket owned by another user, and makes the
// socket mode 0600.
//
// One socket path serves one host. Listen holds an exclusive lock on
// "<socketPath>.lock" while the listener is open; a socket file left by a
// host that died is replaced, while one a live host still answers on gives
// "batchhost is already running at <path>".
func Listen(socketPath string) (net.Listener, error) {
	if socketPath == "" {
		return nil, errors.New("control socket path is empty")
	}
	dir := filepath.Dir(socketPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if err := checkOwner(dir, os.Getuid()); err != nil {
		return nil, err
	}
	lock, err := lockFile(socketPath + ".lock")
	if err != nil {
		return nil, err
	}
	if err := clearStale(socketPath); err != nil {
		lock.Close()
		return nil, err
	}
	l, err := net.Listen("unix", socketPath)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("listen on %s: %w", socketPath, err)
	}
	if err := os.Chmod(socketPath, 0o600); err != nil {
		l.Close()
		lock.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &lockedListener{Listener: l, lock: lock}, nil
}

// checkOwner refuses a path owned by a user other than uid: another user
// could replace our socket or read what passes through it.
func checkOwner(path string, uid int) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("%s belongs to another user (uid %d, you are %d): choose a socket path in a directory of your own with --socket", path, st.Uid, uid)
	}
	return nil
}

// lockFile takes an exclusive, non-blocking lock; failing means another
// host holds this socket path.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control socket lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("batchhost is already running at %s", filepath.Clean(path[:len(path)-len(".lock")]))
		}
		return nil, fmt.Errorf("control socket lock: %w", err)
	}
	return f, nil
}

// clearStale removes a socket file nobody answers on. A live one means a
// host that does not take our lock (another build) is serving there.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: remove it or choose another path with --socket", path)
	}
	if err := checkOwner(path, os.Getuid()); err != nil {
		return err
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("batchhost is already running at %s", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale control socket: %w", err)
	}
	return nil
}

// lockedListener releases the socket lock when it closes. The socket file
// itself is removed by the unix listener's Close.
type lockedListener struct {
	net.Listener
	lock *os.File
	once sync.Once
}

func (l *lockedListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { l.lock.Close() })
	return err
}
