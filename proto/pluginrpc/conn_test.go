package pluginrpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/batchhost/batchhost/proto/pluginpb"
)

// TestFramesRoundTrip: frames of every size class (inside the read
// buffer, beyond it, beyond the kept buffer) arrive whole and in order,
// and a buffer reused for a later, smaller frame leaves no trace of the
// earlier one.
func TestFramesRoundTrip(t *testing.T) {
	host, plugin, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	defer plugin.Close()
	sizes := []int{0, 10, readBuffer + 1, keepBuffer + 1, 3}
	go func() {
		for i, n := range sizes {
			if err := host.Write(StartFrame(uint64(i+1), &pluginpb.ExecuteRequest{Args: bytes.Repeat([]byte{'a' + byte(i)}, n)})); err != nil {
				t.Error(err)
			}
		}
	}()
	for i, n := range sizes {
		f := &pluginpb.HostFrame{}
		if err := plugin.Read(f); err != nil {
			t.Fatal(err)
		}
		args := f.GetStart().GetArgs()
		if f.GetSeq() != uint64(i+1) || len(args) != n || (n > 0 && strings.Trim(string(args), string(rune('a'+i))) != "") {
			t.Fatalf("frame %d: seq %d, %d bytes of args, want %d", i, f.GetSeq(), len(args), n)
		}
	}
}

// TestReadRefusesOversizedFrames: a length over the limit is an error,
// not an allocation.
func TestReadRefusesOversizedFrames(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	c := NewConn(b)
	go func() {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], MaxMessageBytes+1)
		a.Write(hdr[:])
	}()
	if err := c.Read(&pluginpb.ExecuteEvent{}); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("oversized frame: %v", err)
	}
}

// TestReadEnds: the other end closing between frames is io.EOF (a plugin
// that exited), inside a frame io.ErrUnexpectedEOF.
func TestReadEnds(t *testing.T) {
	for _, tc := range []struct {
		sent []byte
		want error
	}{
		{nil, io.EOF},
		{[]byte{0, 0, 0, 9, 1, 2}, io.ErrUnexpectedEOF},
		{[]byte{0, 0, 0, 9}, io.ErrUnexpectedEOF},
	} {
		a, b := net.Pipe()
		c := NewConn(b)
		go func() {
			a.Write(tc.sent)
			a.Close()
		}()
		if err := c.Read(&pluginpb.ExecuteEvent{}); !errors.Is(err, tc.want) {
			t.Errorf("after %v: %v, want %v", tc.sent, err, tc.want)
		}
		b.Close()
	}
}

func TestCancels(t *testing.T) {
	var buf bytes.Buffer
	for _, seq := range []uint64{1, 2, 1 << 40} {
		if err := WriteCancel(&buf, seq); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteByte(7) // a torn record ends the reading
	var got []uint64
	err := ReadCancels(&buf, func(seq uint64) { got = append(got, seq) })
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != 3 || got[2] != 1<<40 {
		t.Fatalf("cancels %v, %v", got, err)
	}
}
