//go:build !unix

package pluginrpc

import (
	"errors"
	"net"
	"os"
)

var errNoChannel = errors.New("the attempt channel needs a unix system")

// NewAttemptChannel is unix only.
func NewAttemptChannel() (*Conn, *os.File, error) { return nil, nil, errNoChannel }

// OpenAttemptChannel is unix only.
func OpenAttemptChannel() (*Conn, error) { return nil, errNoChannel }

// Pipe returns both ends of an in-memory attempt channel, the host's
// first. Writes block until the other end reads.
func Pipe() (host, plugin *Conn, err error) {
	a, b := net.Pipe()
	return NewConn(a), NewConn(b), nil
}
