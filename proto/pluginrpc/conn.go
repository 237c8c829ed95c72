package pluginrpc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// Conn is one end of an attempt channel (protocol version 2): a stream
// socket carrying protobuf messages, each preceded by its length as 4
// bytes, big-endian. The host writes pluginpb.HostFrame and reads
// pluginpb.ExecuteEvent; the plugin the other way round.
//
// Write is safe for concurrent use (a task's goroutines share it); Read is
// for one goroutine at a time.
type Conn struct {
	c    net.Conn
	r    *bufio.Reader
	rbuf []byte
	hdr  [4]byte

	wmu  sync.Mutex
	wbuf []byte
}

// readBuffer is the read buffer's size: a whole small frame, header
// included, arrives in one read system call.
const readBuffer = 32 << 10

// keepBuffer is the largest frame buffer a Conn keeps between frames; a
// larger one (big args or results) is dropped after use.
const keepBuffer = 256 << 10

// NewConn wraps one end of a connected stream socket.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: bufio.NewReaderSize(c, readBuffer)}
}

// Write sends m as one frame.
func (c *Conn) Write(m proto.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := proto.MarshalOptions{}.MarshalAppend(append(c.wbuf[:0], 0, 0, 0, 0), m)
	if err != nil {
		return fmt.Errorf("attempt channel: encode: %w", err)
	}
	if len(b)-4 > MaxMessageBytes {
		return fmt.Errorf("attempt channel: a %d-byte message is over the limit of %d", len(b)-4, MaxMessageBytes)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, err = c.c.Write(b)
	if cap(b) <= keepBuffer {
		c.wbuf = b
	}
	return err
}

// Read receives the next frame into m. It returns io.EOF when the other
// end closed the channel between frames (a plugin that exited, a host that
// is gone) and io.ErrUnexpectedEOF when it did so inside a frame.
func (c *Conn) Read(m proto.Message) error {
	if _, err := io.ReadFull(c.r, c.hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(c.hdr[:])
	if n > MaxMessageBytes {
		return fmt.Errorf("attempt channel: a %d-byte message is over the limit of %d", n, MaxMessageBytes)
	}
	buf := c.rbuf
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
		if n <= keepBuffer {
			c.rbuf = buf
		}
	}
	buf = buf[:n]
	if _, err := io.ReadFull(c.r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	// Unmarshal copies bytes fields, so the buffer can be reused.
	if err := proto.Unmarshal(buf, m); err != nil {
		return fmt.Errorf("attempt channel: decode: %w", err)
	}
	return nil
}

// Close closes the channel; a Read or Write blocked on it returns.
func (c *Conn) Close() error { return c.c.Close() }

// StartFrame is the host's frame that begins attempt seq.
func StartFrame(seq uint64, req *pluginpb.ExecuteRequest) *pluginpb.HostFrame {
	return &pluginpb.HostFrame{Seq: seq, Frame: &pluginpb.HostFrame_Start{Start: req}}
}
