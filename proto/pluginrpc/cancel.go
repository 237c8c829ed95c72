package pluginrpc

import (
	"encoding/binary"
	"io"
)

// Cancels (protocol version 2) travel on the lifeline pipe, each the seq
// of the attempt to cancel as 8 bytes, big-endian. A plugin reads its
// lifeline at all times, so a cancel reaches a task at once, while the
// attempt channel is read only between tasks. A write of 8 bytes to a pipe
// is atomic.

// WriteCancel writes the cancel of attempt seq to w, the host's end of the
// lifeline.
func WriteCancel(w io.Writer, seq uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seq)
	_, err := w.Write(b[:])
	return err
}

// ReadCancels reads cancels from r, the plugin's end of the lifeline,
// calling fn with each attempt's seq, until r fails. It returns io.EOF when
// the host closed its end, or exited.
func ReadCancels(r io.Reader, fn func(seq uint64)) error {
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return err
		}
		fn(binary.BigEndian.Uint64(b[:]))
	}
}
