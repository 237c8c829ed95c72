package joblog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxRecordBytes bounds one record's line, as a reader sees it. A longer
// line is skipped, not held.
const MaxRecordBytes = 16 << 20

// Each calls fn with each record of jobID that starts at byte offset from
// or later, oldest first, holding one record at a time, and returns the
// offset after the last whole line it read: a later call from there
// continues where this one stopped. A line not yet ended by a newline (a
// record being written, or torn by a crash) is not read. Lines that do
// not decode are skipped. An error from fn stops the walk and is
// returned.
func (d *Dir) Each(jobID string, from int64, fn func(Record) error) (int64, error) {
	f, err := d.reader(jobID, from)
	if f == nil || err != nil {
		return from, err
	}
	defer f.Close()
	off := from
	err = eachLine(f, func(line []byte, size int) error {
		off += int64(size)
		var r Record
		if line == nil || json.Unmarshal(line, &r) != nil {
			return nil
		}
		return fn(r)
	})
	return off, err
}

// eachLine calls fn with each whole line of r, without its newline, and
// the bytes it took, newline included. A line longer than MaxRecordBytes
// is passed as nil (its size still counts), never held whole. An
// unfinished last line is not passed.
func eachLine(r io.Reader, fn func(line []byte, size int) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the reader's buffer, being gathered
	tooLong := false
	size := 0
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		switch {
		case err == nil:
			line := chunk[:len(chunk)-1]
			switch {
			case tooLong || len(long)+len(line) > MaxRecordBytes:
				line = nil
			case long != nil:
				line = append(long, line...)
			}
			if err := fn(line, size); err != nil {
				return err
			}
			long, tooLong, size = nil, false, 0
		case errors.Is(err, bufio.ErrBufferFull):
			if len(long)+len(chunk) > MaxRecordBytes {
				tooLong, long = true, nil
			} else if !tooLong {
				long = append(long, chunk...)
			}
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// Tail returns the last n records of jobID, oldest first, and how many
// records came before them. It reads the whole file but holds at most n
// records and maxBytes of them: beyond that the oldest are dropped and
// counted as skipped.
func (d *Dir) Tail(jobID string, n, maxBytes int) (recs []Record, skipped int, err error) {
	if n <= 0 {
		return nil, 0, fmt.Errorf("tail of %d records", n)
	}
	var ring [][]byte
	size := 0
	_, err = d.eachRaw(jobID, func(line []byte) {
		ring = append(ring, bytes.Clone(line))
		size += len(line)
		for len(ring) > n || (size > maxBytes && len(ring) > 1) {
			size -= len(ring[0])
			ring[0] = nil
			ring = ring[1:]
			skipped++
		}
	})
	if err != nil {
		return nil, 0, err
	}
	for _, line := range ring {
		var r Record
		if json.Unmarshal(line, &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs, skipped, nil
}

// eachRaw passes every whole line that looks like a record, undecoded.
func (d *Dir) eachRaw(jobID string, fn func(line []byte)) (int64, error) {
	f, err := d.reader(jobID, 0)
	if f == nil || err != nil {
		return 0, err
	}
	defer f.Close()
	var off int64
	err = eachLine(f, func(line []byte, size int) error {
		off += int64(size)
		if len(line) > 0 && line[0] == '{' {
			fn(line)
		}
		return nil
	})
	return off, err
}
