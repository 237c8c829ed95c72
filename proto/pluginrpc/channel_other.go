//go:build !linux

package pluginrpc

import (
	"errors"
	"net"
	"os"
)

var errNoChannel = errors.New("the attempt channel needs Linux, where the host runs")

// NewAttemptChannel is Linux only.
func NewAttemptChannel() (*Conn, *os.File, error) { return nil, nil, errNoChannel }

// OpenAttemptChannel is Linux only.
func OpenAttemptChannel() (*Conn, error) { return nil, errNoChannel }

// Pipe returns both ends of an in-memory attempt channel, the host's
// first. Writes block until the other end reads.
func Pipe() (host, plugin *Conn, err error) {
	a, b := net.Pipe()
	return NewConn(a), NewConn(b), nil
}
