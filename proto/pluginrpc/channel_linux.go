package pluginrpc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// NewAttemptChannel makes an attempt channel for a plugin about to be
// launched: the host's end, and the plugin's end to pass in
// exec.Cmd.ExtraFiles (with AttemptFDEnv naming its number) and to close
// once the process has started. Both are close-on-exec here, so that a
// plugin launched at the same time does not inherit the other's: the
// channel must reach EOF when its plugin dies, which a copy elsewhere would
// prevent.
func NewAttemptChannel() (*Conn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("attempt channel: %w", err)
	}
	host := os.NewFile(uintptr(fds[0]), "attempt channel")
	nc, err := net.FileConn(host) // a duplicate, in the runtime's poller
	host.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("attempt channel: %w", err)
	}
	return NewConn(nc), os.NewFile(uintptr(fds[1]), "attempt channel (plugin end)"), nil
}

// OpenAttemptChannel opens the plugin's end of the attempt channel that
// AttemptFDEnv names. The variable is removed from the environment and the
// descriptor marked close-on-exec, so that commands a task starts neither
// inherit the channel (which would keep it open after the plugin died) nor
// mistake themselves for a plugin.
func OpenAttemptChannel() (*Conn, error) {
	v, ok := os.LookupEnv(AttemptFDEnv)
	if !ok || v == "" {
		return nil, fmt.Errorf("the host passed no attempt channel (%s is not set)", AttemptFDEnv)
	}
	_ = os.Unsetenv(AttemptFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a usable file descriptor number", AttemptFDEnv, v)
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "attempt channel")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) && errno == syscall.EBADF {
			return nil, fmt.Errorf("%s=%d is not an open file descriptor", AttemptFDEnv, fd)
		}
		return nil, fmt.Errorf("%s=%d: %w", AttemptFDEnv, fd, err)
	}
	return NewConn(nc), nil
}

// Pipe returns both ends of an attempt channel inside this process, the
// host's first: for tests (sdktest) that serve a plugin in the test binary
// over the same kind of socket a plugin process gets.
func Pipe() (host, plugin *Conn, err error) {
	host, f, err := NewAttemptChannel()
	if err != nil {
		return nil, nil, err
	}
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		host.Close()
		return nil, nil, fmt.Errorf("attempt channel: %w", err)
	}
	return host, NewConn(nc), nil
}
